"""aiohttp peer of boucle-bench's http::fetch: CONCURRENCY tasks take the
URLs of URLS_FILE in order and read each body; exits 1 unless every
response is a 200. Prints bytes=N."""

import asyncio
import sys

import aiohttp


async def main(path, conc):
    with open(path) as f:
        urls = [line.strip() for line in f if line.strip()]
    it = iter(urls)
    total = 0
    failed = 0
    connector = aiohttp.TCPConnector(limit=conc, limit_per_host=conc)
    async with aiohttp.ClientSession(connector=connector) as session:

        async def worker():
            nonlocal total, failed
            for url in it:
                try:
                    async with session.get(url) as r:
                        body = await r.read()
                        if r.status != 200:
                            failed += 1
                        total += len(body)
                except Exception:
                    failed += 1

        await asyncio.gather(*(worker() for _ in range(conc)))
    if failed:
        print(f"{failed} requests failed", file=sys.stderr)
        sys.exit(1)
    print(f"bytes={total}")


if __name__ == "__main__":
    if sys.argv[1:] == ["--version"]:
        print(aiohttp.__version__)
        sys.exit(0)
    asyncio.run(main(sys.argv[1], int(sys.argv[2])))
