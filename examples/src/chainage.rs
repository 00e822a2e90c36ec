//! Seed 001, "Chaînage de Coroutines": the result of one coroutine is the
//! input of the next (`user = await fetch_user()`, then
//! `await fetch_posts(user)`). Chains are sequential inside, concurrent
//! with each other.
//!
//! ```python
//! async def fetch_user(user_id):
//!     await asyncio.sleep(1)
//!     return f"user{user_id}"
//!
//! async def fetch_posts(user):
//!     await asyncio.sleep(1)
//!     return [f"{user}: post {i}" for i in range(2)]
//!
//! async def profil(user_id):
//!     user = await fetch_user(user_id)
//!     posts = await fetch_posts(user)
//!     print(f"{user} a {len(posts)} posts")
//!     return posts
//!
//! async def main():
//!     resultats = await asyncio.gather(profil(1), profil(2), profil(3))
//!     print(f"{sum(len(p) for p in resultats)} posts en tout")
//! ```
//!
//! Each chain takes 2 s (1 s, then 1 s); the three run concurrently, so
//! 2 s in all, not 6.

use std::io;
use std::time::Duration;

use crate::Console;

/// Fetches a user (1 s).
pub async fn fetch_user(user_id: u32) -> String {
    boucle::sleep(Duration::from_secs(1)).await;
    format!("user{user_id}")
}

/// Fetches a user's posts (1 s).
pub async fn fetch_posts(user: &str) -> Vec<String> {
    boucle::sleep(Duration::from_secs(1)).await;
    (0..2).map(|i| format!("{user}: post {i}")).collect()
}

/// One chain: the user, then their posts.
///
/// # Errors
/// If printing fails.
pub async fn profil(console: &Console, user_id: u32) -> io::Result<Vec<String>> {
    let user = fetch_user(user_id).await;
    let posts = fetch_posts(&user).await;
    console.println(format!("{user} a {} posts", posts.len()))?;
    Ok(posts)
}

/// `async def main()`: three chains with `gather`.
///
/// # Errors
/// If printing fails.
pub async fn main(console: Console) -> io::Result<()> {
    let (a, b, c) = boucle::gather!(
        profil(&console, 1),
        profil(&console, 2),
        profil(&console, 3)
    );
    let total = a?.len() + b?.len() + c?.len();
    console.println(format!("{total} posts en tout"))
}
