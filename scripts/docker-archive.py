#!/usr/bin/env python3
"""Pack a root filesystem directory as a single-layer docker-archive.

    docker-archive.py [--user UID:GID] <rootfs-dir> <repo:tag> <out.tar> <entrypoint> [arg...]

The archive (manifest.json, a config JSON, <sha>/layer.tar) is what
`ctr -n k8s.io images import` loads: images without a registry. The layer is
reproducible (mtime 0, uid/gid 0, sorted entries), so the same inputs give
the same image id.
"""
import hashlib
import io
import json
import os
import sys
import tarfile


def layer(rootfs: str) -> bytes:
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w", format=tarfile.PAX_FORMAT) as tar:
        for dirpath, dirnames, filenames in os.walk(rootfs):
            dirnames.sort()
            for name in sorted(dirnames) + sorted(filenames):
                path = os.path.join(dirpath, name)
                arc = os.path.relpath(path, rootfs)
                info = tar.gettarinfo(path, arcname=arc)
                info.mtime = 0
                info.uid = info.gid = 0
                info.uname = info.gname = ""
                if info.isfile():
                    with open(path, "rb") as f:
                        tar.addfile(info, f)
                else:
                    tar.addfile(info)
    return buf.getvalue()


def main() -> None:
    args = sys.argv[1:]
    user = None
    if args[:1] == ["--user"]:
        user, args = args[1], args[2:]
    rootfs, ref, out, *entrypoint = args
    data = layer(rootfs)
    diff_id = hashlib.sha256(data).hexdigest()
    config = json.dumps(
        {
            "architecture": "amd64",
            "os": "linux",
            "created": "1970-01-01T00:00:00Z",
            "config": {
                "Entrypoint": entrypoint,
                "Env": ["PATH=/usr/local/bin:/usr/bin:/bin"],
                "WorkingDir": "/",
                **({"User": user} if user else {}),
            },
            "rootfs": {"type": "layers", "diff_ids": [f"sha256:{diff_id}"]},
            "history": [{"created": "1970-01-01T00:00:00Z", "created_by": "paraform scripts/docker-archive.py"}],
        },
        sort_keys=True,
    ).encode()
    config_id = hashlib.sha256(config).hexdigest()
    manifest = json.dumps(
        [{"Config": f"{config_id}.json", "RepoTags": [ref], "Layers": [f"{diff_id}/layer.tar"]}]
    ).encode()
    tmp = out + ".tmp"
    with tarfile.open(tmp, mode="w") as tar:
        for name, blob in (
            (f"{diff_id}/layer.tar", data),
            (f"{config_id}.json", config),
            ("manifest.json", manifest),
        ):
            info = tarfile.TarInfo(name)
            info.size = len(blob)
            info.mtime = 0
            tar.addfile(info, io.BytesIO(blob))
    os.replace(tmp, out)


if __name__ == "__main__":
    main()
