using Tempo.Simulation.Profiles;

namespace Tempo.Simulation.Bounds;

/// <summary>
/// A price per decode token and per prefill token that never exceeds what a step really costs: for every step of
/// <c>d</c> decodes and <c>p</c> prefill tokens the engine allows, <c>d·DecodeS + p·PrefillS</c> is at most the
/// step's fixed, token-level (linear) and per-step decode-attention time. Work priced this way, plus the attention
/// each token needs for its own context, is a lower bound on the engine time any schedule spends on it.
/// </summary>
/// <remarks>
/// Decodes are cheap only when they ride along with a prefill chunk and dear in a decode-only step of at most
/// <c>MaxBatch</c> sequences, so no single price is tight for every workload. <see cref="Under"/> returns a family:
/// each valid, the best one depending on the mix.
/// </remarks>
/// <param name="DecodeS">Seconds per decode token.</param>
/// <param name="PrefillS">Seconds per prefill token.</param>
public readonly record struct StepCostPlane(double DecodeS, double PrefillS)
{
    /// <summary>Most planes <see cref="Under"/> computes: each one scans every step shape and bounds the workload once.</summary>
    public const int MaxCount = 32;

    /// <summary>Largest token budget <see cref="Under"/> scans (the cost model's dense table).</summary>
    public const int MaxTokenBudget = 16_384;

    /// <summary>
    /// Valid prices under <paramref name="model"/> for steps of at most <paramref name="maxBatch"/> decodes and
    /// <paramref name="tokenBudget"/> tokens: the decode price runs from 0 to its largest valid value in
    /// <paramref name="count"/> even steps, and each comes with the largest prefill price valid beside it.
    /// </summary>
    public static IReadOnlyList<StepCostPlane> Under(CostModel model, int maxBatch, int tokenBudget, int count)
    {
        ArgumentNullException.ThrowIfNull(model);
        ArgumentOutOfRangeException.ThrowIfLessThan(maxBatch, 1);
        ArgumentOutOfRangeException.ThrowIfLessThan(tokenBudget, 1);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(tokenBudget, MaxTokenBudget);
        ArgumentOutOfRangeException.ThrowIfLessThan(count, 2);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(count, MaxCount);
        var decodes = Math.Min(maxBatch, tokenBudget);
        var fixedMs = model.IdleStepS * 1000;
        double StepMs(int d, int p) => fixedMs + model.LinearMs(d + p) + model.DecodeAttentionMs(d, 0);

        // A decode-only step of d costs StepMs(d, 0), so no decode price may exceed the cheapest per-sequence cost.
        var maxDecodeMs = double.PositiveInfinity;
        for (var d = 1; d <= decodes; d++)
        {
            maxDecodeMs = Math.Min(maxDecodeMs, StepMs(d, 0) / d);
        }

        var planes = new List<StepCostPlane>(count);
        for (var k = 0; k < count; k++)
        {
            var decodeMs = maxDecodeMs * k / (count - 1);
            var prefillMs = double.PositiveInfinity;
            for (var d = 0; d <= decodes; d++)
            {
                for (var p = 1; p + d <= tokenBudget; p++)
                {
                    prefillMs = Math.Min(prefillMs, (StepMs(d, p) - (decodeMs * d)) / p);
                }
            }

            if (prefillMs >= 0)
            {
                planes.Add(new StepCostPlane(decodeMs / 1000, prefillMs / 1000));
            }
        }

        return planes;
    }
}
