"""Generate a large "CVAT for images 1.1" XML file for the CVAT benchmarks.

    python benchmarks/cvat_generate.py OUT.xml [--images 100000] [--shapes 5]

Every image gets `--shapes` shapes cycling through: a box with two attributes, a rotated
box, a polygon, a polyline and points (the shapes users have most of). Written streaming,
so generating a multi-GB file needs no memory.
"""

from __future__ import annotations

import argparse
import random

HEADER = """<?xml version="1.0" encoding="utf-8"?>
<annotations>
  <version>1.1</version>
  <meta>
    <task>
      <id>1</id>
      <name>benchmark</name>
      <size>{images}</size>
      <mode>annotation</mode>
      <labels>
        <label>
          <name>car</name>
          <type>rectangle</type>
          <attributes>
            <attribute>
              <name>color</name>
              <mutable>False</mutable>
              <input_type>select</input_type>
              <default_value>red</default_value>
              <values>red
blue</values>
            </attribute>
            <attribute>
              <name>parked</name>
              <mutable>False</mutable>
              <input_type>checkbox</input_type>
              <default_value>false</default_value>
              <values>false</values>
            </attribute>
          </attributes>
        </label>
        <label>
          <name>road</name>
          <type>polygon</type>
        </label>
        <label>
          <name>lane</name>
          <type>polyline</type>
        </label>
        <label>
          <name>sign</name>
          <type>points</type>
        </label>
      </labels>
    </task>
  </meta>
"""


def _pts(rng: random.Random, count: int) -> str:
    return ";".join(f"{rng.uniform(0, 1920):.2f},{rng.uniform(0, 1080):.2f}" for _ in range(count))


def shape(index: int, rng: random.Random) -> str:
    kind = index % 5
    x, y = rng.uniform(0, 1800), rng.uniform(0, 1000)
    if kind == 0:
        return (
            f'    <box label="car" source="manual" occluded="0" xtl="{x:.2f}" ytl="{y:.2f}" '
            f'xbr="{x + 50:.2f}" ybr="{y + 40:.2f}" z_order="0">\n'
            f'      <attribute name="color">blue</attribute>\n'
            f'      <attribute name="parked">true</attribute>\n    </box>\n'
        )
    if kind == 1:
        return (
            f'    <box label="car" source="auto" occluded="1" xtl="{x:.2f}" ytl="{y:.2f}" '
            f'xbr="{x + 80:.2f}" ybr="{y + 30:.2f}" rotation="{rng.uniform(0, 360):.2f}" z_order="1">\n'
            f'      <attribute name="color">red</attribute>\n'
            f'      <attribute name="parked">false</attribute>\n    </box>\n'
        )
    tag, label, count = [("polygon", "road", 6), ("polyline", "lane", 4), ("points", "sign", 3)][
        kind - 2
    ]
    return f'    <{tag} label="{label}" source="manual" occluded="0" points="{_pts(rng, count)}" z_order="0">\n    </{tag}>\n'


def generate(path: str, images: int, shapes: int, seed: int = 7) -> None:
    rng = random.Random(seed)
    with open(path, "w", encoding="utf-8") as out:
        out.write(HEADER.format(images=images))
        for image in range(images):
            out.write(
                f'  <image id="{image}" name="frames/{image:07d}.jpg" width="1920" height="1080">\n'
            )
            out.write("".join(shape(image * shapes + k, rng) for k in range(shapes)))
            out.write("  </image>\n")
        out.write("</annotations>\n")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("out")
    parser.add_argument("--images", type=int, default=100_000)
    parser.add_argument("--shapes", type=int, default=5)
    args = parser.parse_args()
    generate(args.out, args.images, args.shapes)


if __name__ == "__main__":
    main()
