#!/usr/bin/env python3
"""Make a multi-platform image: an OCI layout directory whose index.json names (as REF) one image index
listing the image of each oci-archive given, for the platform its config states, in the order given.

    oci-index.py OUT_DIR REF IMAGE.oci.tar...

`skopeo copy --all oci:OUT_DIR:REF docker://...` pushes it as a manifest list.
"""
import hashlib
import json
import os
import sys
import tarfile


def main():
    out, ref, images = sys.argv[1], sys.argv[2], sys.argv[3:]
    blobs = os.path.join(out, "blobs", "sha256")
    os.makedirs(blobs, exist_ok=True)
    entries = []
    for path in images:
        with tarfile.open(path) as t:
            index = json.loads(t.extractfile("index.json").read())
            for m in t.getmembers():
                if m.isfile() and m.name.startswith("blobs/sha256/"):
                    with open(os.path.join(blobs, os.path.basename(m.name)), "wb") as f:
                        f.write(t.extractfile(m).read())
        desc = dict(index["manifests"][0])
        desc.pop("annotations", None)
        with open(os.path.join(blobs, desc["digest"].split(":", 1)[1])) as f:
            manifest = json.load(f)
        with open(os.path.join(blobs, manifest["config"]["digest"].split(":", 1)[1])) as f:
            config = json.load(f)
        desc["mediaType"] = "application/vnd.oci.image.manifest.v1+json"
        desc["platform"] = {"architecture": config["architecture"], "os": config["os"]}
        entries.append(desc)
    body = json.dumps({"schemaVersion": 2, "mediaType": "application/vnd.oci.image.index.v1+json",
                       "manifests": entries}, indent=1).encode()
    digest = hashlib.sha256(body).hexdigest()
    with open(os.path.join(blobs, digest), "wb") as f:
        f.write(body)
    with open(os.path.join(out, "oci-layout"), "w") as f:
        json.dump({"imageLayoutVersion": "1.0.0"}, f)
    with open(os.path.join(out, "index.json"), "w") as f:
        json.dump({"schemaVersion": 2, "manifests": [{
            "mediaType": "application/vnd.oci.image.index.v1+json", "digest": "sha256:" + digest,
            "size": len(body), "annotations": {"org.opencontainers.image.ref.name": ref}}]}, f)
    print("sha256:" + digest)


if __name__ == "__main__":
    main()
