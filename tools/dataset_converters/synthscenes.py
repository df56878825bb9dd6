"""Generate the SynthScenes multi-task dataset (NYUD_MT layout).

Example::

    python tools/dataset_converters/synthscenes.py data/synthscenes \
        --num-train 1000 --num-val 200 --height 96 --width 128 --seed 0 \
        --workers 2

The generator module is loaded from its file, so this script needs neither
mmseg nor an installed mmecmt (numpy and OpenCV only). See
``mmecmt/datasets/synthscenes_generator.py`` for the layout and conventions.
"""
import argparse
import importlib.util
import os.path as osp
import sys

GENERATOR_PATH = osp.join(
    osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__)))), 'mmecmt',
    'datasets', 'synthscenes_generator.py')
MODULE_NAME = 'mmecmt_synthscenes_generator'


def load_generator():
    """Import synthscenes_generator.py by path (without mmecmt.datasets)."""
    if MODULE_NAME in sys.modules:
        return sys.modules[MODULE_NAME]
    if not osp.isfile(GENERATOR_PATH):
        raise FileNotFoundError(
            f'SynthScenes generator not found at {GENERATOR_PATH}')
    spec = importlib.util.spec_from_file_location(MODULE_NAME, GENERATOR_PATH)
    module = importlib.util.module_from_spec(spec)
    sys.modules[MODULE_NAME] = module  # worker processes unpickle by name
    spec.loader.exec_module(module)
    return module


def parse_args(argv=None, classes=()):
    parser = argparse.ArgumentParser(
        description='Render the SynthScenes multi-task dataset '
        '(semseg, depth, normals, edges, saliency, parts) in the NYUD_MT '
        'layout.')
    parser.add_argument('out_dir', help='output directory')
    parser.add_argument('--num-train', type=int, default=1000)
    parser.add_argument('--num-val', type=int, default=200)
    parser.add_argument('--height', type=int, default=96)
    parser.add_argument('--width', type=int, default=128)
    parser.add_argument('--seed', type=int, default=0)
    parser.add_argument(
        '--classes', nargs='+', default=None, metavar='CLASS',
        help=f'class subset in label order (default: all of {list(classes)})')
    parser.add_argument('--no-parts', action='store_true',
                        help='do not write the parts maps')
    parser.add_argument('--workers', type=int, default=1,
                        help='worker processes (default 1)')
    parser.add_argument('--quiet', action='store_true',
                        help='no progress lines')
    parser.add_argument(
        '--ensure', action='store_true',
        help='keep an existing dataset with the same parameters (error if '
        'its parameters differ) instead of regenerating it')
    return parser.parse_args(argv)


def main(argv=None):
    gen = load_generator()
    args = parse_args(argv, gen.SYNTHSCENES_CLASSES)
    build = gen.ensure_synthscenes if args.ensure else gen.generate_synthscenes
    meta = build(
        args.out_dir, num_train=args.num_train, num_val=args.num_val,
        height=args.height, width=args.width, seed=args.seed,
        classes=args.classes, with_parts=not args.no_parts,
        num_workers=args.workers, progress=not args.quiet)
    print(f'SynthScenes in {args.out_dir}: {meta["num_train"]} train + '
          f'{meta["num_val"]} val images, {meta["height"]} x '
          f'{meta["width"]}, classes {meta["classes"]}')
    return meta


if __name__ == '__main__':
    try:
        main()
    except ValueError as err:
        sys.exit(f'error: {err}')
