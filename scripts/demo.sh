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

# The main job: two tools' exports of the same 102 images pulled into one workspace (an
# embedded SQLite file), matched by image URL: one item, two annotation sets each.
ws="$out/workspace.db"
rm -f "$ws" "$ws-wal" "$ws-shm" "$out/merged.jsonl"
step bridge pull samples/labelbox/export_v2_image_classification.ndjson --name labelbox --match uri -w "$ws"
step bridge pull samples/labelstudio/export_v2_image_classification.json --name labelstudio --match uri -w "$ws"
# The migration plan (nothing is written), then the push to a file target
step bridge push "$out/merged.jsonl" -w "$ws" --dry-run
step bridge push "$out/merged.jsonl" -w "$ws"
# Idempotent: the same push again finds nothing to send and leaves the file alone
step bridge push "$out/merged.jsonl" -w "$ws"
step bridge status -w "$ws"
printf '\nOutputs are in %s/\n' "$out"
