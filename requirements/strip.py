"""Drop packages from pip-compile's lock files (``make lock``): opencv-python, which
rapidocr-onnxruntime asks for, is the GUI build and needs the system's libGL; the lock holds
opencv-python-headless, the same ``cv2`` without it. The lock files are installed with
--no-deps, so nothing asks for the dropped package again."""

import re
import sys

DROPPED = ("opencv-python",)


def strip(text: str, names=DROPPED) -> str:
    # a requirement's block: its "name==version \" line, hash lines, and "# via" comments
    blocks = re.split(r"(?m)^(?=[A-Za-z0-9][^\s=]*==)", text)
    return "".join(b for b in blocks if b.split("==", 1)[0].lower() not in names)


if __name__ == "__main__":
    for path in sys.argv[1:]:
        with open(path, encoding="utf-8") as f:
            text = f.read()
        with open(path, "w", encoding="utf-8") as f:
            f.write(strip(text))
