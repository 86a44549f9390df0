"""[accuracy]: the held-out error of the course's trainer against -1/2 log(1 - rho^2), next to
the noise floor (the spread of the DV estimate with the optimal critic)."""
from __future__ import annotations

import statistics

import torch

from trainers import EPOCHS, N, RHOS, course_api, finish, gaussian_problem, make_course, noise_floor, truth


def section_accuracy(args, results):
    seeds = 3 if args.quick else 10
    floor_seeds = 500 if args.quick else 4000
    device = "cuda" if args.device == "cuda" and torch.cuda.is_available() else "cpu"
    DVTrainer, Net = course_api()
    if DVTrainer is None:
        print(f"  the course's trainer is not in nde_grader.reference yet ({Net}): skipped")
        results["accuracy"] = {"skipped": Net}
        return
    out = {"seeds": seeds, "device": device, "epochs": EPOCHS, "n": N}
    print(f"  {'rho':>5} {'D':>6} {'floor sd':>9} {'floor bias':>10} {'mean err':>9} {'sd err':>7} {'worst':>7} {'within 1 sd':>11}"
          f"   {'optimal critic: within 1 sd, P(>=9/10)':>40}")
    for rho in RHOS:
        floor = noise_floor(rho, floor_seeds)
        errors = []
        for seed in range(seeds):
            Z, Z_ref, Z_test, Z_ref_test = (torch.from_numpy(a).to(device) for a in gaussian_problem(rho, seed))
            torch.manual_seed(seed)
            trainer = make_course(device, held_out=(Z_test, Z_ref_test))(Z, Z_ref)
            estimate = trainer.step(EPOCHS)
            finish(trainer)
            errors.append(float(estimate) - truth(rho))
        within = int(sum(abs(e) <= floor["sd"] for e in errors))
        row = {"truth": truth(rho), "floor": floor, "errors": errors, "mean_error": statistics.mean(errors),
               "sd_error": statistics.stdev(errors) if len(errors) > 1 else 0.0,
               "worst": min(errors, key=lambda e: -abs(e)), "within_1sd": within}
        out[str(rho)] = row
        print(f"  {rho:5.2f} {truth(rho):6.3f} {floor['sd']:9.3f} {floor['mean_error']:+10.3f} {row['mean_error']:+9.3f}"
              f" {row['sd_error']:7.3f} {row['worst']:+7.3f} {within:>6}/{seeds}"
              f"   {floor['within_1sd_fraction']:>28.0%}, {floor['p_9_of_10']:.2f}")
    results["accuracy"] = out
