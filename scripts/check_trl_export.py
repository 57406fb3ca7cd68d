"""Loads a gtr `export format=trl-sft` file the way TRL's SFT trainer gets its data, and prints one JSON summary.

    python scripts/check_trl_export.py FILE.jsonl

`datasets.load_dataset("json", data_files=FILE, split="train")`, then for every row: a user turn then an assistant
turn, one image part per entry of `images`, and every image path (relative to the JSONL) a readable PNG (decoded
with Pillow when it is installed). Exit 0 with the summary; 3 when `datasets` is missing (the caller skips); 1 when
a row is wrong.
"""
import json
import os
import struct
import sys


def png_size(path):
    with open(path, "rb") as f:
        head = f.read(24)
    if head[:8] != b"\x89PNG\r\n\x1a\n":
        raise ValueError("%s is not a PNG" % path)
    return struct.unpack(">II", head[16:24])


def main():
    path = sys.argv[1]
    try:
        import datasets
    except ImportError as e:
        print("SKIP: datasets is not installed (%s)" % e)
        return 3
    try:
        from PIL import Image
    except ImportError:
        Image = None
    d = datasets.load_dataset("json", data_files=path, split="train")
    base = os.path.dirname(os.path.abspath(path))
    sizes = {}
    problems = []
    for i, r in enumerate(d):
        roles = [m["role"] for m in r["messages"]]
        if roles != ["user", "assistant"]:
            problems.append("row %d: roles %s" % (i, roles))
        parts = r["messages"][0]["content"]
        images = sum(1 for c in parts if c["type"] == "image")
        if images != len(r["images"]):
            problems.append("row %d: %d image part(s), %d image(s)" % (i, images, len(r["images"])))
        if not parts or parts[-1]["type"] != "text" or not parts[-1]["text"]:
            problems.append("row %d: no prompt text" % i)
        answer = r["messages"][1]["content"]
        if len(answer) != 1 or answer[0]["type"] != "text" or not answer[0]["text"]:
            problems.append("row %d: no assistant text" % i)
        for p in r["images"]:
            full = os.path.join(base, p)
            if not os.path.exists(full):
                problems.append("row %d: missing %s" % (i, p))
                continue
            if Image is not None:
                with Image.open(full) as im:
                    im.load()
                    sizes[p] = list(im.size)
            else:
                sizes[p] = list(png_size(full))
    print(json.dumps({
        "rows": len(d),
        "columns": sorted(d.column_names),
        "features": {k: str(v) for k, v in d.features.items()},
        "images": sizes,
        "decoder": "PIL" if Image is not None else "header",
        "problems": problems[:20],
    }))
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
