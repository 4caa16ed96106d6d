"""Keycloak 26 (Quarkus dist from Maven Central) in dev mode, its data in the stack's Postgres."""

from __future__ import annotations

import hashlib
import os
import re
import shutil
import tempfile
import zipfile
from pathlib import Path

from .base import Component
from .core import CACHE, DEPLOY, HOST, StackError, apt_install, http_ok, rel, run, say, spawn
from .postgres import PASSWORD as DB_PASSWORD
from .postgres import PORT as DB_PORT
from .postgres import USER as DB_USER
from .postgres import Postgres

VERSION = "26.5.6"
ARTIFACT = f"org.keycloak:keycloak-quarkus-dist:{VERSION}:zip"
PORT = 8180
REALM = "taskflow"
ISSUER = f"http://{HOST}:{PORT}/realms/{REALM}"
REALM_FILE = DEPLOY / "keycloak" / "taskflow-realm.json"
DATABASE = "keycloak"
# Placeholders of the realm file: resolved by Keycloak at import (defaults written in the file).
REALM_ENV = ("TASKFLOW_KEYCLOAK_GATEWAY_SECRET", "TASKFLOW_KEYCLOAK_ADMIN_UI_SECRET")
PREFERRED_JAVA = Path("/usr/lib/jvm/temurin-25-jdk-amd64")


def java_major(home: Path) -> int:
    try:
        text = (home / "release").read_text()
    except OSError:
        return 0
    match = re.search(r'JAVA_VERSION="(\d+)', text)
    return int(match.group(1)) if match else 0


def find_java_home() -> Path:
    """Keycloak 26 recommends Java 25 and deprecates 17: prefer Temurin 25, else the newest JDK."""
    override = os.environ.get("TASKFLOW_JAVA_HOME")
    if override:
        return Path(override)
    if (PREFERRED_JAVA / "bin" / "java").exists():
        return PREFERRED_JAVA
    jvm = Path("/usr/lib/jvm")
    if not any(java_major(p) >= 17 for p in jvm.glob("*")):
        apt_install("openjdk-17-jre-headless")  # the newest Java Debian 12 ships
    candidates = [p for p in jvm.glob("*") if (p / "bin" / "java").exists() and not p.is_symlink()]
    candidates.sort(key=java_major, reverse=True)
    if not candidates or java_major(candidates[0]) < 17:
        raise StackError(
            "Keycloak 26 needs Java 17+ (21+ recommended): install Temurin 25 under /usr/lib/jvm "
            "or point TASKFLOW_JAVA_HOME at a JDK"
        )
    if java_major(candidates[0]) < 21:
        say(
            f"keycloak: warning, only Java {java_major(candidates[0])} found (deprecated for "
            "Keycloak 26); install Temurin 25 or set TASKFLOW_JAVA_HOME"
        )
    return candidates[0]


def realm_digest() -> str:
    """Hash of the realm file plus the values its placeholders will take at import."""
    digest = hashlib.sha256(REALM_FILE.read_bytes())
    for name in REALM_ENV:
        digest.update(f"\0{name}={os.environ.get(name, '')}".encode())
    return digest.hexdigest()


class Keycloak(Component):
    name = "keycloak"
    ports = {"http": PORT}
    requires = ("postgres",)
    start_timeout = 300.0
    marker = "keycloak"

    @property
    def home(self) -> Path:
        return CACHE / f"keycloak-{VERSION}"

    @property
    def zip_path(self) -> Path:
        repo = Path(os.environ.get("TASKFLOW_M2_REPO") or Path.home() / ".m2" / "repository")
        return (
            repo
            / "org/keycloak/keycloak-quarkus-dist"
            / VERSION
            / f"keycloak-quarkus-dist-{VERSION}.zip"
        )

    @property
    def digest_file(self) -> Path:
        return self.dir / "realm.sha256"

    def installed(self) -> bool:
        return (self.home / "bin" / "kc.sh").exists()

    def install_note(self) -> str:
        if self.zip_path.exists():
            return f"unzip {rel(self.zip_path)}"
        return f"mvn dependency:copy {ARTIFACT}, ~165 MB kept in ~/.m2, then unzip"

    def install(self) -> None:
        if not self.zip_path.exists():
            if shutil.which("mvn") is None:
                apt_install("maven")
            CACHE.mkdir(parents=True, exist_ok=True)
            with tempfile.TemporaryDirectory(dir=CACHE) as tmp:
                # the copy in tmp is thrown away: the artifact stays in ~/.m2 for every checkout
                run(
                    [
                        "mvn",
                        "-q",
                        "-B",
                        "dependency:copy",
                        f"-Dartifact={ARTIFACT}",
                        f"-DoutputDirectory={tmp}",
                    ],
                    timeout=1800,
                )
        partial = self.home.with_name(self.home.name + ".partial")
        shutil.rmtree(partial, ignore_errors=True)
        with zipfile.ZipFile(self.zip_path) as archive:
            for info in archive.infolist():
                name = info.filename.split("/", 1)[1] if "/" in info.filename else ""
                if not name:
                    continue
                target = partial / name
                if info.is_dir():
                    target.mkdir(parents=True, exist_ok=True)
                    continue
                target.parent.mkdir(parents=True, exist_ok=True)
                with archive.open(info) as src, open(target, "wb") as dst:
                    shutil.copyfileobj(src, dst, 1 << 20)
                mode = (info.external_attr >> 16) & 0o777
                if mode:
                    target.chmod(mode)
        (partial / "bin" / "kc.sh").chmod(0o755)
        partial.rename(self.home)

    def version(self) -> str:
        return f"{VERSION} {rel(self.home)}"

    def detail(self) -> str:
        return f"issuer {ISSUER}, admin admin/admin, db {DATABASE}"

    def starting_note(self) -> str:
        if not (self.home / "lib" / "quarkus" / "build-system.properties").exists():
            return " (first start builds, creates its schema and imports the realm, ~50 s)"
        if self._stored_digest() != realm_digest():
            return " (new database: creates its schema and imports the realm, ~45 s)"
        return " (~15 s)"

    def ready(self) -> bool:
        return http_ok(f"{ISSUER}/.well-known/openid-configuration")

    def restart_reason(self) -> str | None:
        stored = self._stored_digest()
        if not stored:
            # `reset postgres`, or a cluster of another major moved aside (postgres.py)
            return "its database was reset (no realm import recorded)"
        if stored != realm_digest():
            return f"{rel(REALM_FILE)} changed since import"
        return None

    def _stored_digest(self) -> str:
        try:
            return self.digest_file.read_text().strip()
        except OSError:
            return ""

    def start(self) -> None:
        java_home = find_java_home()
        self.dir.mkdir(parents=True, exist_ok=True)
        if self._stored_digest() != realm_digest():
            # an existing realm is never re-imported: start from an empty database instead
            say(f"keycloak: realm file new or changed, recreating database {DATABASE} to import it")
            Postgres().recreate_database(DATABASE)
        import_dir = self.home / "data" / "import"
        import_dir.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(REALM_FILE, import_dir / REALM_FILE.name)
        env = {
            "JAVA_HOME": str(java_home),
            # kc.sh's default heap is a share of all RAM; keep it laptop-sized
            "JAVA_OPTS_KC_HEAP": "-Xms256m -Xmx1g",
            "KC_BOOTSTRAP_ADMIN_USERNAME": "admin",
            "KC_BOOTSTRAP_ADMIN_PASSWORD": "admin",
            "KC_DB": "postgres",
            "KC_DB_URL": f"jdbc:postgresql://{HOST}:{DB_PORT}/{DATABASE}",
            "KC_DB_USERNAME": DB_USER,
            "KC_DB_PASSWORD": DB_PASSWORD,
            "KC_DB_POOL_MAX_SIZE": "20",
        }
        spawn(
            [
                str(self.home / "bin" / "kc.sh"),
                "start-dev",
                f"--http-host={HOST}",
                f"--http-port={PORT}",
                # a fixed hostname: the issuer is the same whatever Host header a client sends
                f"--hostname=http://{HOST}:{PORT}",
                "--import-realm",
            ],
            log=self.log_file,
            pid_file=self.pid_file,
            env=env,
            cwd=self.dir,
        )

    def after_ready(self) -> None:
        self.digest_file.write_text(realm_digest() + "\n")
