using System.Globalization;

namespace Tempo.Scheduling;

/// <summary>
/// What a policy believes one engine step costs before it has measured any: a decode-only step and a step that
/// carries a prefill chunk, each at a typical batch. It comes from the engine's cost profile (simulation) or its
/// calibration; policies that learn step costs online start from it and correct it as steps are measured.
/// </summary>
/// <param name="DecodeStepS">Seconds of a decode-only step.</param>
/// <param name="PrefillStepS">Seconds of a step with a full prefill chunk.</param>
public sealed record StepCostPrior(double DecodeStepS, double PrefillStepS)
{
    /// <summary>This belief with both costs multiplied by <paramref name="bias"/> (a wrong belief, for robustness runs).</summary>
    public StepCostPrior Scaled(double bias)
    {
        if (!double.IsFinite(bias) || bias <= 0)
        {
            throw new ArgumentException($"cost bias must be a positive number, got {bias.ToString(CultureInfo.InvariantCulture)}.", nameof(bias));
        }

        return new StepCostPrior(DecodeStepS * bias, PrefillStepS * bias);
    }

    /// <summary>Throws <see cref="ArgumentException"/> unless both costs are positive and finite.</summary>
    public void Validate()
    {
        if (!double.IsFinite(DecodeStepS) || DecodeStepS <= 0 || !double.IsFinite(PrefillStepS) || PrefillStepS <= 0)
        {
            throw new ArgumentException($"step cost prior must be positive, got decode {DecodeStepS.ToString(CultureInfo.InvariantCulture)} s, prefill {PrefillStepS.ToString(CultureInfo.InvariantCulture)} s.");
        }
    }
}
