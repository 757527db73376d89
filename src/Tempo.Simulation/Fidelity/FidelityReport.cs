using Tempo.Core;
using Tempo.Engine;
using Tempo.Simulation.Profiles;

namespace Tempo.Simulation.Fidelity;

/// <summary>Distribution of an error: median and 90th percentile of its absolute value, and the mean signed value.</summary>
/// <param name="Count">Values.</param>
/// <param name="Median">Median of the absolute values.</param>
/// <param name="P90">90th percentile of the absolute values.</param>
/// <param name="MeanSigned">Mean of the signed values (positive: the simulator is slower).</param>
public sealed record ErrorStats(int Count, double Median, double P90, double MeanSigned)
{
    /// <summary>Summarises signed <paramref name="errors"/>.</summary>
    public static ErrorStats Of(IReadOnlyCollection<double> errors)
    {
        ArgumentNullException.ThrowIfNull(errors);
        var abs = errors.Select(Math.Abs).Order().ToArray();
        return new ErrorStats(abs.Length, Percentile.OfSorted(abs, 0.5), Percentile.OfSorted(abs, 0.9), errors.Count > 0 ? errors.Average() : double.NaN);
    }
}

/// <summary>Step-latency error of a cost profile over a real engine's step log, overall and by kind of step.</summary>
/// <param name="All">Every step: relative error in percent, (predicted − measured) / measured.</param>
/// <param name="ByKind">The same per kind: <c>decode</c> (decodes only), <c>prefill</c> (chunks only), <c>mixed</c>.</param>
/// <param name="BusyRatio">Σ predicted / Σ measured: how much longer the simulated engine is busy over the same steps.</param>
/// <param name="ByShape">
/// Error of the median: steps are grouped into shapes (decodes, their mean context to a power of two, prefill chunks,
/// their tokens and cache to a power of two); each step gets its shape's (median predicted − median measured) /
/// median measured. This is the model's error with the timing noise of single steps taken out.
/// </param>
/// <param name="NoiseFloor">
/// Each step's deviation from the median measured time of its shape, (shape median − measured) / measured: the error
/// that even a perfect per-shape predictor makes, because the same shape does not always take the same time.
/// </param>
public sealed record StepFidelity(ErrorStats All, IReadOnlyDictionary<string, ErrorStats> ByKind, double BusyRatio, ErrorStats ByShape, ErrorStats NoiseFloor)
{
    /// <summary>Prices every logged step with <paramref name="profile"/> and compares it with its measured duration.</summary>
    public static StepFidelity Of(IReadOnlyList<LoggedStep> steps, CostProfile profile)
    {
        ArgumentNullException.ThrowIfNull(steps);
        var model = new CostModel(profile);
        var priced = new List<(string Kind, string Shape, double Measured, double Predicted)>();
        foreach (var s in steps)
        {
            if (s.DurationS <= 0 || s.Work.Count == 0)
            {
                continue;
            }

            priced.Add((KindOf(s.Work), ShapeOf(s.Work), s.DurationS, model.ShapeTimeS([.. s.Work], s.SwapBlocks)));
        }

        if (priced.Count == 0)
        {
            throw new ArgumentException("the step log holds no step with work");
        }

        static double Pct(double value, double reference) => 100 * (value - reference) / reference;
        var byKind = priced.GroupBy(p => p.Kind).OrderBy(g => g.Key, StringComparer.Ordinal)
            .ToDictionary(g => g.Key, g => ErrorStats.Of([.. g.Select(p => Pct(p.Predicted, p.Measured))]));
        var shapes = priced.GroupBy(p => p.Shape).ToDictionary(
            g => g.Key,
            g => (Measured: Median(g.Select(p => p.Measured)), Predicted: Median(g.Select(p => p.Predicted))));
        return new StepFidelity(
            ErrorStats.Of([.. priced.Select(p => Pct(p.Predicted, p.Measured))]),
            byKind,
            priced.Sum(p => p.Predicted) / priced.Sum(p => p.Measured),
            ErrorStats.Of([.. priced.Select(p => Pct(shapes[p.Shape].Predicted, shapes[p.Shape].Measured))]),
            ErrorStats.Of([.. priced.Select(p => Pct(shapes[p.Shape].Measured, p.Measured))]));
    }

    private static string KindOf(IReadOnlyList<WorkShape> work)
    {
        var decodes = work.Count(w => w.IsDecode);
        return decodes == work.Count ? "decode" : decodes == 0 ? "prefill" : "mixed";
    }

    private static string ShapeOf(IReadOnlyList<WorkShape> work)
    {
        int decodes = 0, chunks = 0, chunkTokens = 0, cached = 0;
        long context = 0;
        foreach (var w in work)
        {
            if (w.IsDecode)
            {
                decodes++;
                context += w.ContextBefore;
            }
            else
            {
                chunks++;
                chunkTokens += w.Tokens;
                cached = Math.Max(cached, w.ContextBefore);
            }
        }

        var meanContext = decodes > 0 ? context / decodes : 0;
        return FormattableString.Invariant($"d{decodes}k{Log2(meanContext)}p{chunks}c{Log2(chunkTokens)}k{Log2(cached)}");
    }

    private static int Log2(long value) => value <= 0 ? -1 : 63 - (int)long.LeadingZeroCount(value);

    private static double Median(IEnumerable<double> values) => Percentile.OfSorted([.. values.Order()], 0.5);
}

/// <summary>Per-request agreement of a simulated run with a measured one of the same workload, policy and seed.</summary>
/// <param name="Policy">The policy compared.</param>
/// <param name="Matched">Requests present in both runs (joined on id).</param>
/// <param name="TtftPct">Relative TTFT error, percent (requests with a first token in both).</param>
/// <param name="E2ePct">Relative end-to-end error, percent.</param>
/// <param name="TtftMs">Absolute TTFT error, ms (signed mean: positive when the simulator is slower).</param>
/// <param name="E2eMs">Absolute end-to-end error, ms.</param>
/// <param name="Attainment">Per class (and <c>all</c>): measured and simulated SLO attainment, fractions.</param>
/// <param name="SameVerdict">Share of matched requests whose SLO verdict is the same in both runs.</param>
public sealed record RequestFidelity(
    string Policy,
    int Matched,
    ErrorStats TtftPct,
    ErrorStats E2ePct,
    ErrorStats TtftMs,
    ErrorStats E2eMs,
    IReadOnlyDictionary<string, (double Real, double Simulated)> Attainment,
    double SameVerdict)
{
    /// <summary>Compares the rows of <paramref name="policy"/> in both exports; throws when nothing matches.</summary>
    public static RequestFidelity Of(string policy, IReadOnlyList<RecordRow> real, IReadOnlyList<RecordRow> simulated)
    {
        ArgumentNullException.ThrowIfNull(real);
        ArgumentNullException.ThrowIfNull(simulated);
        var sim = simulated.Where(r => r.Policy == policy).ToDictionary(r => r.Id);
        var pairs = real.Where(r => r.Policy == policy && sim.ContainsKey(r.Id)).Select(r => (Real: r, Sim: sim[r.Id])).ToArray();
        if (pairs.Length == 0)
        {
            throw new ArgumentException($"no request of policy '{policy}' is in both exports (policies measured: {string.Join(", ", real.Select(r => r.Policy).Distinct())}; simulated: {string.Join(", ", simulated.Select(r => r.Policy).Distinct())})");
        }

        var ttft = pairs.Where(p => p.Real.TtftS is > 0 && p.Sim.TtftS is not null).ToArray();
        var attainment = pairs.GroupBy(p => p.Real.Class).Append(pairs.GroupBy(_ => "all").Single())
            .ToDictionary(g => g.Key, g => (Real: g.Average(p => p.Real.SloMet ? 1.0 : 0), Simulated: g.Average(p => p.Sim.SloMet ? 1.0 : 0)));
        return new RequestFidelity(
            policy,
            pairs.Length,
            ErrorStats.Of([.. ttft.Select(p => 100 * (p.Sim.TtftS!.Value - p.Real.TtftS!.Value) / p.Real.TtftS!.Value)]),
            ErrorStats.Of([.. pairs.Where(p => p.Real.E2eS > 0).Select(p => 100 * (p.Sim.E2eS - p.Real.E2eS) / p.Real.E2eS)]),
            ErrorStats.Of([.. ttft.Select(p => 1000 * (p.Sim.TtftS!.Value - p.Real.TtftS!.Value))]),
            ErrorStats.Of([.. pairs.Select(p => 1000 * (p.Sim.E2eS - p.Real.E2eS))]),
            attainment,
            pairs.Average(p => p.Real.SloMet == p.Sim.SloMet ? 1.0 : 0));
    }
}
