//! The fastapi-users reference point: a tiny FastAPI app (JWT bearer backend, users in
//! SQLite through SQLAlchemy and aiosqlite) written by the harness, run by uvicorn with one
//! worker under the bench server's CPU pinning, loaded with its own `GET /users/me`.
//!
//! The harness installs it from PyPI into a venv under `target/bench` (once; later runs reuse
//! it). `bench serve fastapi-users` writes the app, starts uvicorn as its child (which inherits
//! the pinning), registers and logs in its user over HTTP, prints the `READY` line with
//! uvicorn's pid (whose peak RSS is the one reported) and stops uvicorn on SIGTERM.

use std::net::{SocketAddr, TcpListener, TcpStream};
use std::os::fd::AsFd;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use crate::BoxError;
use crate::cases::{PASSWORD, USER_EMAIL};
use crate::client::Connection;
use crate::server::Scratch;

/// What `pip install` gets.
const PACKAGES: [&str; 3] = ["fastapi-users[sqlalchemy]", "uvicorn", "aiosqlite"];

/// The app: the fastapi-users documentation's SQLAlchemy example, JWT bearer backend only.
const APP: &str = r#"# Written by the bench harness (tests/bench/src/fastapi_users.rs).
import os
import uuid
from contextlib import asynccontextmanager

from fastapi import Depends, FastAPI
from fastapi_users import BaseUserManager, FastAPIUsers, UUIDIDMixin, schemas
from fastapi_users.authentication import AuthenticationBackend, BearerTransport, JWTStrategy
from fastapi_users.db import SQLAlchemyBaseUserTableUUID, SQLAlchemyUserDatabase
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker, create_async_engine
from sqlalchemy.orm import DeclarativeBase

SECRET = "bench secret, 32 bytes or longer"
engine = create_async_engine(os.environ["BENCH_DATABASE_URL"])
async_session_maker = async_sessionmaker(engine, expire_on_commit=False)


class Base(DeclarativeBase):
    pass


class User(SQLAlchemyBaseUserTableUUID, Base):
    pass


class UserRead(schemas.BaseUser[uuid.UUID]):
    pass


class UserCreate(schemas.BaseUserCreate):
    pass


class UserUpdate(schemas.BaseUserUpdate):
    pass


async def get_async_session():
    async with async_session_maker() as session:
        yield session


async def get_user_db(session: AsyncSession = Depends(get_async_session)):
    yield SQLAlchemyUserDatabase(session, User)


class UserManager(UUIDIDMixin, BaseUserManager[User, uuid.UUID]):
    reset_password_token_secret = SECRET
    verification_token_secret = SECRET


async def get_user_manager(user_db=Depends(get_user_db)):
    yield UserManager(user_db)


def get_jwt_strategy() -> JWTStrategy:
    return JWTStrategy(secret=SECRET, lifetime_seconds=12 * 3600)


auth_backend = AuthenticationBackend(
    name="jwt",
    transport=BearerTransport(tokenUrl="auth/jwt/login"),
    get_strategy=get_jwt_strategy,
)
fastapi_users = FastAPIUsers[User, uuid.UUID](get_user_manager, [auth_backend])


@asynccontextmanager
async def lifespan(app: FastAPI):
    async with engine.begin() as conn:
        await conn.run_sync(Base.metadata.create_all)
    yield


app = FastAPI(lifespan=lifespan)
app.include_router(fastapi_users.get_auth_router(auth_backend), prefix="/auth/jwt")
app.include_router(fastapi_users.get_register_router(UserRead, UserCreate), prefix="/auth")
app.include_router(fastapi_users.get_users_router(UserRead, UserUpdate), prefix="/users")
"#;

/// The venv under `target/bench`.
fn venv(work_dir: &Path) -> PathBuf {
    work_dir.join("fastapi-users-venv")
}

/// Creates the venv and installs fastapi-users into it, unless that was done before.
pub(crate) fn install(work_dir: &Path) -> Result<(), BoxError> {
    let venv = venv(work_dir);
    let python = venv.join("bin").join("python");
    let installed = |python: &Path| {
        Command::new(python)
            .args(["-c", "import fastapi_users, uvicorn, aiosqlite, sqlalchemy"])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .is_ok_and(|status| status.success())
    };
    if installed(&python) {
        return Ok(());
    }
    eprintln!(
        "bench: installing {} into {} ...",
        PACKAGES.join(" "),
        venv.display()
    );
    let status = Command::new("python3")
        .args(["-m", "venv"])
        .arg(&venv)
        .status()
        .map_err(|err| format!("python3 -m venv: {err}"))?;
    if !status.success() {
        return Err("python3 -m venv failed".into());
    }
    let status = Command::new(venv.join("bin").join("pip"))
        .args(["install", "--quiet"])
        .args(PACKAGES)
        .status()
        .map_err(|err| format!("pip install: {err}"))?;
    if !status.success() || !installed(&python) {
        return Err(format!("pip install {} failed", PACKAGES.join(" ")).into());
    }
    Ok(())
}

/// Stops uvicorn (SIGTERM, then SIGKILL) when dropped.
struct Uvicorn(Child);

impl Drop for Uvicorn {
    fn drop(&mut self) {
        let _ = Command::new("kill")
            .args(["-TERM", &self.0.id().to_string()])
            .status();
        let started = Instant::now();
        while started.elapsed() < Duration::from_secs(5) {
            if matches!(self.0.try_wait(), Ok(Some(_))) {
                return;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// `bench serve fastapi-users`: serves until `shutdown` completes.
pub(crate) async fn serve(
    scratch: &Scratch,
    shutdown: impl Future<Output = ()>,
) -> Result<(), BoxError> {
    let work_dir = crate::system::work_dir()?;
    let python = venv(&work_dir).join("bin").join("python");
    if !python.is_file() {
        return Err(format!(
            "no fastapi-users venv at {} (the harness installs it)",
            venv(&work_dir).display()
        )
        .into());
    }
    let data = scratch.dir()?;
    std::fs::write(data.join("bench_fastapi_users.py"), APP)?;
    // A free port for uvicorn (which binds it itself a moment later).
    let addr = TcpListener::bind("127.0.0.1:0")?.local_addr()?;
    let uvicorn = Uvicorn(
        Command::new(python)
            .args(["-m", "uvicorn", "bench_fastapi_users:app"])
            .args(["--host", "127.0.0.1", "--port", &addr.port().to_string()])
            .args([
                "--workers",
                "1",
                "--log-level",
                "warning",
                "--no-access-log",
            ])
            .current_dir(&data)
            .env(
                "BENCH_DATABASE_URL",
                format!("sqlite+aiosqlite:///{}", data.join("users.db").display()),
            )
            .stdin(Stdio::null())
            // Our stdout carries the READY line: uvicorn's output goes to stderr.
            .stdout(Stdio::from(std::io::stderr().as_fd().try_clone_to_owned()?))
            .spawn()
            .map_err(|err| format!("cannot start uvicorn: {err}"))?,
    );
    wait_for(addr, Duration::from_secs(60))?;
    let token = register_and_login(addr)?;
    println!("READY addr={addr} token={token} pid={}", uvicorn.0.id());
    shutdown.await;
    drop(uvicorn);
    Ok(())
}

fn wait_for(addr: SocketAddr, limit: Duration) -> Result<(), BoxError> {
    let started = Instant::now();
    while TcpStream::connect(addr).is_err() {
        if started.elapsed() > limit {
            return Err(format!("uvicorn did not listen on {addr}").into());
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    Ok(())
}

/// Registers the bench user (`POST /auth/register`) and logs in (`POST /auth/jwt/login`, a
/// form); returns the access token.
fn register_and_login(addr: SocketAddr) -> Result<String, BoxError> {
    let mut conn = Connection::open(addr)?;
    let body = format!(r#"{{"email":"{USER_EMAIL}","password":"{PASSWORD}"}}"#);
    let status = conn.send(
        format!(
            "POST /auth/register HTTP/1.1\r\nHost: {addr}\r\nContent-Type: application/json\r\n\
             Content-Length: {}\r\n\r\n{body}",
            body.len()
        )
        .as_bytes(),
    )?;
    if status != 201 {
        return Err(format!(
            "fastapi-users register: {status} {}",
            String::from_utf8_lossy(conn.body())
        )
        .into());
    }
    let body = format!(
        "username={}&password={}",
        USER_EMAIL.replace('@', "%40"),
        PASSWORD.replace(' ', "+")
    );
    let status = conn.send(
        format!(
            "POST /auth/jwt/login HTTP/1.1\r\nHost: {addr}\r\n\
             Content-Type: application/x-www-form-urlencoded\r\nContent-Length: {}\r\n\r\n{body}",
            body.len()
        )
        .as_bytes(),
    )?;
    let answer = String::from_utf8_lossy(conn.body()).into_owned();
    if status != 200 {
        return Err(format!("fastapi-users login: {status} {answer}").into());
    }
    // {"access_token":"...","token_type":"bearer"}
    answer
        .split_once(r#""access_token":""#)
        .and_then(|(_, rest)| rest.split_once('"'))
        .map(|(token, _)| token.to_owned())
        .ok_or_else(|| format!("no access token in {answer}").into())
}
