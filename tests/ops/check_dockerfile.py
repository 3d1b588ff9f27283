#!/usr/bin/env python3
"""ops_dockerfile: what can be checked of the Dockerfile without a Docker engine.

- every stage is based on Debian 12 (debian:12…, or a …-bookworm… image);
- the build stage installs exactly scripts/packages.txt, read with the same filter as
  scripts/setup (one list for both), and builds with CMake + Ninja like scripts/build;
- the runtime stage installs no -dev package or compiler, and installs the Debian package of
  every shared library the pavewatch binary links (`ldd $PAVEWATCH_BINARY`, `dpkg -S`);
- it copies the binary, data/ and web/dist, runs as a numeric non-root USER, and its entry point
  is pavewatch;
- .dockerignore lets in everything the Dockerfile copies and keeps out build trees and
  node_modules;
- the Helm chart's default image is this one: image.repository `pavewatch`, tag = appVersion =
  the CMake project version.
Standard library only."""

import fnmatch
import os
import re
import shutil
import subprocess
import sys

sys.dont_write_bytecode = True  # no __pycache__ in the source tree
import opslib  # noqa: E402

ROOT = opslib.SOURCE_DIR


def stages(text):
    """[(name, base, [instructions])] with continuation lines joined."""
    lines = []
    buf = ""
    for raw in text.splitlines():
        line = raw.rstrip()
        if not buf and (not line.strip() or line.lstrip().startswith("#")):
            continue
        if line.lstrip().startswith("#"):
            continue
        if line.endswith("\\"):
            buf += line[:-1] + " "
            continue
        lines.append((buf + line).strip())
        buf = ""
    args = {}
    out = []
    for line in lines:
        word, _, rest = line.partition(" ")
        word = word.upper()
        if word == "ARG" and not out:
            name, _, default = rest.partition("=")
            args[name.strip()] = default.strip()
        elif word == "FROM":
            parts = rest.split()
            base = re.sub(r"\$\{(\w+)\}", lambda m: args.get(m.group(1), m.group(0)), parts[0])
            name = parts[2] if len(parts) > 2 and parts[1].upper() == "AS" else ""
            out.append((name, base, []))
        elif out:
            out[-1][2].append((word, rest))
    return out


def runtime_library_packages(binary):
    """Debian packages of the shared libraries `binary` links."""
    proc = subprocess.run(["ldd", binary], capture_output=True, text=True)
    packages = {}
    for line in proc.stdout.splitlines():
        m = re.search(r"=>\s+(/\S+)", line)
        if not m:
            continue
        lib = os.path.basename(m.group(1))
        q = subprocess.run(["dpkg", "-S", f"*/{lib}"], capture_output=True, text=True)
        owners = sorted({l.split(":")[0] for l in q.stdout.splitlines() if l.strip()})
        owners = [o for o in owners if not o.endswith("-dev")]
        packages[lib] = owners
    return packages


def dockerignore_allows(patterns, path):
    """Docker's rule: the last matching pattern decides; `!` re-includes."""
    allowed = True
    for pat in patterns:
        negate = pat.startswith("!")
        p = pat[1:] if negate else pat
        p = p.rstrip("/")
        parts = path.split("/")
        prefixes = ["/".join(parts[: i + 1]) for i in range(len(parts))]
        if any(fnmatch.fnmatch(x, p) or fnmatch.fnmatch(x, p.replace("**/", "")) for x in prefixes):
            allowed = negate
    return allowed


def main():
    failures = opslib.Failures("ops_dockerfile")
    dockerfile = ROOT / "Dockerfile"
    text = dockerfile.read_text(encoding="utf-8")
    st = stages(text)
    if len(st) < 2:
        failures.add("Dockerfile", "expected a build stage and a runtime stage")
        return failures.finish()
    for name, base, _ in st:
        if not (base.startswith("debian:12") or "bookworm" in base):
            failures.add("Dockerfile", f"stage {name or '?'} is based on {base}, not Debian 12")

    # -- build stage: scripts/packages.txt, with scripts/setup's filter ------------------------
    build = next((s for s in st if s[0] == "build"), None)
    setup = (ROOT / "scripts" / "setup").read_text(encoding="utf-8")
    m = re.search(r"grep -vE '([^']+)' \"\$PAVEWATCH_ROOT/scripts/packages.txt\"", setup)
    setup_filter = m.group(1) if m else None
    if build is None:
        failures.add("Dockerfile", "no stage named `build`")
    else:
        runs = " ".join(rest for word, rest in build[2] if word == "RUN")
        copies = [rest for word, rest in build[2] if word == "COPY"]
        if not any("scripts/packages.txt" in c for c in copies):
            failures.add("Dockerfile build stage", "does not COPY scripts/packages.txt")
        if setup_filter is None:
            failures.add("scripts/setup", "cannot find how it reads scripts/packages.txt")
        elif f"grep -vE '{setup_filter}' scripts/packages.txt" not in runs:
            failures.add("Dockerfile build stage", f"does not read scripts/packages.txt with scripts/setup's filter grep -vE '{setup_filter}'")
        if not re.search(r"xargs apt-get install", runs):
            failures.add("Dockerfile build stage", "does not apt-get install the listed packages")
        if re.search(r"apt-get install[^&]*\b(g\+\+|cmake|librdkafka-dev)\b", runs):
            failures.add("Dockerfile build stage", "names packages itself instead of reading scripts/packages.txt")
        if "-G Ninja" not in runs or "cmake -S" not in runs or "ninja -C" not in runs:
            failures.add("Dockerfile build stage", "does not build with `cmake -S … -B … -G Ninja` and `ninja -C …` as scripts/build")
        if "CMAKE_BUILD_TYPE" not in runs:
            failures.add("Dockerfile build stage", "sets no CMAKE_BUILD_TYPE")
        build_script = (ROOT / "scripts" / "build").read_text(encoding="utf-8")
        if "-G Ninja" not in build_script:
            failures.add("scripts/build", "no longer builds with Ninja: update the Dockerfile's build stage")

    # -- runtime stage ------------------------------------------------------------------------
    name, base, instructions = st[-1]
    runtime_runs = " ".join(rest for word, rest in instructions if word == "RUN")
    installed = set()
    for chunk in re.findall(r"apt-get install([^&|;]*)", runtime_runs):
        installed |= {w for w in chunk.split() if not w.startswith("-")}
    for pkg in sorted(installed):
        if pkg.endswith("-dev") or pkg in {"g++", "gcc", "cmake", "ninja-build", "clang", "make"}:
            failures.add("Dockerfile runtime stage", f"installs build tool or -dev package {pkg}")
    binary = os.environ.get("PAVEWATCH_BINARY", "")
    if binary and os.access(binary, os.X_OK) and shutil.which("ldd") and shutil.which("dpkg"):
        libs = runtime_library_packages(binary)
        for lib, owners in sorted(libs.items()):
            if not owners:
                failures.add("Dockerfile runtime stage", f"cannot tell the Debian package of {lib}")
            elif not set(owners) & installed:
                failures.add("Dockerfile runtime stage", f"the binary links {lib} (package {', '.join(owners)}), which it does not install")
        lib_note = f"{len(libs)} linked libraries covered"
    else:
        failures.add("PAVEWATCH_BINARY", "not set or not executable: cannot check the runtime libraries")
        lib_note = ""
    copies = [rest for word, rest in instructions if word == "COPY"]
    if not any(re.search(r"--from=build\s+\S*pavewatch\s+\S+", c) for c in copies):
        failures.add("Dockerfile runtime stage", "does not copy the pavewatch binary from the build stage")
    if not any(re.match(r"data/?\s", c) for c in copies):
        failures.add("Dockerfile runtime stage", "does not copy data/")
    if not any("web/dist" in c for c in copies):
        failures.add("Dockerfile runtime stage", "does not copy web/dist")
    users = [rest for word, rest in instructions if word == "USER"]
    if not users:
        failures.add("Dockerfile runtime stage", "sets no USER (the image would run as root)")
    else:
        user = users[-1].split(":")[0]
        if not user.isdigit() or user == "0":
            failures.add("Dockerfile runtime stage", f"USER {users[-1]} is not a numeric non-root user (Kubernetes' runAsNonRoot needs a number)")
        values = (ROOT / "helm" / "pavewatch" / "values.yaml").read_text(encoding="utf-8")
        m = re.search(r"^\s+runAsUser:\s*(\d+)", values, re.M)
        if not m or m.group(1) != user:
            failures.add("helm/pavewatch/values.yaml", f"podSecurityContext.runAsUser is not the image's user {user}")
    entry = [rest for word, rest in instructions if word == "ENTRYPOINT"]
    if not entry or "pavewatch" not in entry[-1]:
        failures.add("Dockerfile runtime stage", "ENTRYPOINT is not pavewatch")

    # -- .dockerignore ------------------------------------------------------------------------
    ignore = ROOT / ".dockerignore"
    if not ignore.exists():
        failures.add(".dockerignore", "missing (the build context would hold build trees and node_modules)")
    else:
        patterns = [l.strip() for l in ignore.read_text().splitlines() if l.strip() and not l.strip().startswith("#")]
        sources = set()
        for _, _, ins in st:
            for word, rest in ins:
                if word == "COPY" and "--from=" not in rest:
                    parts = [p for p in rest.split() if not p.startswith("--")]
                    sources |= {p.rstrip("/") for p in parts[:-1]}
        for src in sorted(sources):
            probe = src if "." in os.path.basename(src) else f"{src}/x.cpp"
            if not dockerignore_allows(patterns, probe):
                failures.add(".dockerignore", f"keeps out {src}, which the Dockerfile copies")
        for unwanted in ("build/CMakeCache.txt", "web/node_modules/vite/package.json", "build-science/x.o", ".git/HEAD"):
            if dockerignore_allows(patterns, unwanted):
                failures.add(".dockerignore", f"lets {unwanted} into the build context")

    # -- the chart's default image ------------------------------------------------------------
    cmake = (ROOT / "CMakeLists.txt").read_text(encoding="utf-8")
    version = re.search(r"project\(pavewatch VERSION ([0-9.]+)", cmake)
    chart = (ROOT / "helm" / "pavewatch" / "Chart.yaml").read_text(encoding="utf-8")
    app = re.search(r'^appVersion:\s*"?([^"\s]+)"?', chart, re.M)
    if not version or not app or version.group(1) != app.group(1):
        failures.add("helm/pavewatch/Chart.yaml", f"appVersion {app and app.group(1)} is not the CMake project version {version and version.group(1)}")
    values = (ROOT / "helm" / "pavewatch" / "values.yaml").read_text(encoding="utf-8")
    if not re.search(r"^image:\n(?:\s+#.*\n)*\s+repository:\s*pavewatch\s*$", values, re.M):
        failures.add("helm/pavewatch/values.yaml", "image.repository is not `pavewatch` (the image this Dockerfile builds)")
    return failures.finish(lib_note)


if __name__ == "__main__":
    sys.exit(main())
