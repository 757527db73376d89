namespace Tempo.Scheduling.Gain.SelectEdf;

/// <summary>
/// What <c>tempo</c> prices a request with besides the request itself and the clock: the step-time model's means and
/// spread, and the count bonus. A re-plan may keep the prices of queued requests that did not move while this basis
/// stays within a tolerance of the one every price was last computed from.
/// </summary>
/// <param name="DecodeS">Mean decode-step cost.</param>
/// <param name="PrefillS">Mean cost of a step with a prefill chunk.</param>
/// <param name="SpreadS">Step-cost spread.</param>
/// <param name="Bonus">Value added to every request for finishing it.</param>
internal readonly record struct PricingBasis(double DecodeS, double PrefillS, double SpreadS, double Bonus)
{
    /// <summary>The basis in force now.</summary>
    public static PricingBasis Of(StepTimeModel time, double bonus) => new(time.DecodeS, time.PrefillS, time.SpreadS, bonus);

    /// <summary>
    /// The largest relative change of a price input since <paramref name="then"/>. The spread enters a time as
    /// <paramref name="marginSigmas"/> spreads per √step against a mean per step, so its change is measured against a
    /// decode step: a relative change of a small spread moves no price.
    /// </summary>
    public double DriftFrom(PricingBasis then, double marginSigmas) =>
        Math.Max(
            Math.Max(Relative(DecodeS, then.DecodeS), Relative(PrefillS, then.PrefillS)),
            Math.Max(Relative(Bonus, then.Bonus), then.DecodeS > 0 ? marginSigmas * Math.Abs(SpreadS - then.SpreadS) / then.DecodeS : double.PositiveInfinity));

    private static double Relative(double now, double then) =>
        now == then ? 0 : then != 0 ? Math.Abs(now - then) / Math.Abs(then) : double.PositiveInfinity;
}
