#!/bin/sh
# Extract the reader's training files, at pinned commits, from bare git copies of
# github.com/ymcui/cmrc2018 and github.com/DRCKnowledgeTeam/DRCD, and check their sha256.
#   training/fetch_data.sh CMRC_GIT_DIR DRCD_GIT_DIR OUT_DIR
set -eu
CMRC_COMMIT=c0eb1b6ba219847457e6af3180da722bbeb656af
DRCD_COMMIT=b944790de5af02c5fbb7cd9cb1473d27d169eebf
mkdir -p "$3"
git --git-dir="$1" show "$CMRC_COMMIT:squad-style-data/cmrc2018_trial.json" > "$3/cmrc2018_trial.json"
git --git-dir="$1" show "$CMRC_COMMIT:squad-style-data/cmrc2018_dev.json" > "$3/cmrc2018_dev.json"
git --git-dir="$2" show "$DRCD_COMMIT:DRCD_test.json" > "$3/DRCD_test.json"
cd "$3" && sha256sum -c <<SUMS
f3fae95b57da8e03afb2b57467dd221417060ef4d82db13bf22fc88589f3a6f3  cmrc2018_trial.json
e9ff74231f05c230c6fa88b84441ee334d97234cbb610991cd94b82db00c7f1f  cmrc2018_dev.json
d9de0b4d247a8391ac8daee6c02c2c8272b75562a1e2377b50ae04ecc09a7438  DRCD_test.json
SUMS
