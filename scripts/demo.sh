#!/usr/bin/env bash
# The README's demo: real vendor exports through the unified schema, with loss reports.
set -euo pipefail
cd "$(dirname "$0")/.."
out=build/demo
export COLUMNS=${COLUMNS:-120}  # rich tables read better wider than the 80-column default of a pipe
mkdir -p "$out"
step() { printf '\n\033[1m$ %s\033[0m\n' "$*"; "$@"; }

step bridge --version
step bridge plugins
# CVAT video export (tracks with keyframes, outside frames, frame step 3) -> unified JSONL
step bridge inspect samples/cvat/for_video.xml
step bridge convert samples/cvat/for_video.xml -o "$out/for_video.jsonl"
# ... -> Label Studio JSON (tracks become videorectangle sequences; what cannot go is reported)
step bridge convert "$out/for_video.jsonl" --to labelstudio -o "$out/for_video.labelstudio.json"
step bridge inspect "$out/for_video.labelstudio.json" --from labelstudio
# CVAT project export with three subsets -> Label Studio
step bridge convert samples/cvat/for_images_export_project.xml --to labelstudio -o "$out/project.labelstudio.json"
# Labelbox export v2 NDJSON -> unified JSONL
step bridge convert samples/labelbox/export_v2_image_classification.ndjson -o "$out/labelbox.jsonl"
step bridge inspect "$out/labelbox.jsonl" --json
printf '\nOutputs are in %s/\n' "$out"
