"""Stage translate:domains (translate/dvc.yaml): CycleGAN's two domains from the prepared
MNIST: A, digits from the first half of each split; B, the second half's, restyled."""


from gan_pipeline import cli
from gan_pipeline.config.translate import load_translate
from gan_pipeline.data.prepare import check_scaled, prepared_layout
from gan_pipeline.formats.files import load_npz, save_npz
from gan_pipeline.translation.domains import make_domains, shared_images


def main(args, _params):
    cfg = load_translate(args.translate).domains
    data = load_npz(args.data, prepared_layout("mnist"))
    check_scaled(data["x_train"], f"{args.data}: x_train")
    domains = make_domains(data, cfg)
    shared = shared_images(domains["a_train"], data["x_train"][domains["b_index"]])
    if shared:  # make_domains drops them: this would be a bug
        raise AssertionError(f"A and B share {shared} training images")
    save_npz(args.out, domains)
    print(f"translate: domains: A {len(domains['a_train'])} training and "
          f"{len(domains['a_test'])} test digits, B {len(domains['b_train'])} and "
          f"{len(domains['b_test'])} (restyled: dilation {cfg.dilation}, invert "
          f"{str(cfg.invert).lower()}); no image in both (checked pixel for pixel)")


if __name__ == "__main__":
    p = cli.parser(__doc__.split("\n\n")[0], params=False)
    p.add_argument("--translate", required=True, help="translate/params.yaml")
    p.add_argument("--data", required=True, help="the prepared MNIST (.npz)")
    p.add_argument("--out", required=True, help="the domains (.npz)")
    cli.run(main, p.parse_args())
