#!/usr/bin/env python3
"""Procedural children's-story generator (TinyStories-like English).

A small hand-written grammar: characters (name, species, traits, pronouns),
places (with hiding spots and weather that fits them), objects (with colours,
articles and what you do with them), goals, problems, helpers, dialogue,
feelings and morals, arranged by one of several story templates.

Deterministic: the same --seed and --stories always give the same bytes
(pure stdlib, random.Random only, no dict-order or hash dependence).

    python3 tools/corpus/story_grammar.py --seed 1 --stories 1000 > stories.txt

Stories are separated by one blank line; a story never contains a blank line
(paragraphs inside a story are separated by a single newline).
"""

import argparse
import random
import sys

from story_templates import (t_dont_listen, t_explore, t_fear, t_gift, t_help, t_lost_object,
                             t_new_friend, t_rainy_day, t_sharing, t_try_again)


TEMPLATES = [
    (t_lost_object, 3),
    (t_sharing, 3),
    (t_fear, 2),
    (t_help, 3),
    (t_try_again, 3),
    (t_dont_listen, 2),
    (t_gift, 2),
    (t_new_friend, 2),
    (t_rainy_day, 2),
    (t_explore, 2),
]


def story(rng):
    fns = [f for f, w in TEMPLATES for _ in range(w)]
    return rng.choice(fns)(rng)


def stories(seed, n):
    rng = random.Random(seed)
    for _ in range(n):
        yield story(rng)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--stories", type=int, default=10)
    args = ap.parse_args()
    out = sys.stdout
    first = True
    for s in stories(args.seed, args.stories):
        if not first:
            out.write("\n")
        out.write(s + "\n")
        first = False


if __name__ == "__main__":
    main()
