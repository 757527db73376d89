using Tempo.Core;
using Tempo.Simulation.Profiles;
using Tempo.Workloads;

namespace Tempo.Simulation.Bounds;

/// <summary>
/// What no scheduler can beat on a workload: upper bounds on its service gain and on the requests that can meet
/// their SLO, and a lower bound on the run's duration (first arrival to last finish), on one engine described by a
/// cost model, a batch cap and a per-step token budget. Goodputs are the first two over the third.
/// </summary>
/// <param name="ServiceGain">Upper bound on the service gain, weighted tokens.</param>
/// <param name="SloMet">Upper bound on the requests (collective: calls) that meet their SLO.</param>
/// <param name="DurationS">Lower bound on the run's duration, seconds.</param>
/// <param name="Plane">The step prices that gave the tightest gain bound.</param>
public sealed record GainBoundResult(double ServiceGain, double SloMet, double DurationS, StepCostPlane Plane)
{
    /// <summary>Upper bound on service goodput, gain per second.</summary>
    public double ServiceGoodput => DurationS > 0 ? ServiceGain / DurationS : 0;

    /// <summary>Upper bound on SLO goodput, requests on time per second.</summary>
    public double SloGoodput => DurationS > 0 ? SloMet / DurationS : 0;
}

/// <summary>
/// Computes <see cref="GainBoundResult"/> by relaxing the engine to one machine that does a second of work per second
/// (docs/BENCHMARKS.md, "How much gain is there to win"). Every relaxation only adds freedom, so the bounds hold for
/// every scheduler, oracles included:
/// <list type="bullet">
/// <item>work is priced by a <see cref="StepCostPlane"/> plus the attention each token needs for its own context, which
/// never exceeds the engine time it really takes; the bound is the best over several planes;</item>
/// <item>batching, memory and the order of a request's own tokens are ignored, except that a request needs at least
/// one step per output token and one per prefill chunk, so one that cannot meet its SLO even alone earns nothing;</item>
/// <item>a stream's output tokens are grouped, each group due when its last token is; a collective job is one piece
/// from its first arrival to its deadline; and a piece may be served in part, for that part of its value.</item>
/// </list>
/// </summary>
public static class GainBound
{
    /// <summary>Step-price planes tried by default.</summary>
    public const int DefaultPlanes = 7;

    // A stream's output tokens are split into this many groups, each due with its last token.
    private const int StreamGroups = 2;

    /// <summary>Bounds <paramref name="workload"/> on <paramref name="model"/> at this batch cap and token budget.</summary>
    public static GainBoundResult Of(Workload workload, CostModel model, int maxBatch, int tokenBudget, GainWeights weights, int planes = DefaultPlanes)
    {
        ArgumentNullException.ThrowIfNull(workload);
        ArgumentNullException.ThrowIfNull(model);
        ArgumentNullException.ThrowIfNull(weights);
        if (workload.Requests.Count == 0)
        {
            return new GainBoundResult(0, 0, 0, default);
        }

        var prices = StepCostPlane.Under(model, maxBatch, tokenBudget, planes);
        var results = new (double Gain, double Met, double Duration)[prices.Count];
        try
        {
            Parallel.For(0, prices.Count, k =>
            {
                var pricing = new WorkPricing(model, prices[k], tokenBudget);
                var units = WorkUnits.Of(workload, pricing, weights, model.Profile.MaxModelLen);
                results[k] = (Fill(GainPieces(units, pricing, weights)), Fill(SloPieces(units, pricing)), Makespan(units));
            });
        }
        catch (AggregateException e) when (e.InnerExceptions.All(x => x is ArgumentException))
        {
            // Every plane fails the same way on a workload too large to bound: one clear error, not one per plane.
            System.Runtime.ExceptionServices.ExceptionDispatchInfo.Capture(e.InnerExceptions[0]).Throw();
        }

        var best = 0;
        for (var k = 1; k < results.Length; k++)
        {
            best = results[k].Gain < results[best].Gain ? k : best;
        }

        return new GainBoundResult(results[best].Gain, results.Min(r => r.Met), results.Max(r => r.Duration), prices[best]);
    }

    /// <summary>The most value the pieces can earn on a <see cref="DeadlineCapacity"/>: densest first, each as far as it fits.</summary>
    internal static double Fill(IReadOnlyList<Piece> pieces)
    {
        // The verdicts accept work up to ServiceGain.Tolerance late, so the windows do too.
        var usable = pieces.Where(p => p.Value > 0 && p.DeadlineS > p.ReleaseS).Select(p => p with { DeadlineS = p.DeadlineS + ServiceGain.Tolerance }).ToList();
        if (usable.Count == 0)
        {
            return 0;
        }

        // Work the prices make free (a profile without that cost) needs no room.
        var value = usable.Where(p => p.WorkS <= 0).Sum(p => p.Value);
        usable.RemoveAll(p => p.WorkS <= 0);
        if (usable.Count == 0)
        {
            return value;
        }

        var capacity = new DeadlineCapacity(usable.Select(p => p.ReleaseS), usable.Select(p => p.DeadlineS));
        foreach (var p in usable.OrderByDescending(p => p.Value / p.WorkS).ThenBy(p => p.ReleaseS).ThenBy(p => p.DeadlineS))
        {
            value += p.Value * capacity.Place(p.ReleaseS, p.DeadlineS, p.WorkS) / p.WorkS;
        }

        return value;
    }

    private static List<Piece> GainPieces(List<WorkUnit> units, WorkPricing pricing, GainWeights w)
    {
        var pieces = new List<Piece>(units.Count * 2);
        foreach (var u in units)
        {
            if (u.Stream is not { } s)
            {
                if (u.MinTimeS <= u.DeadlineS - u.ReleaseS + ServiceGain.Tolerance)
                {
                    pieces.Add(new Piece(u.ReleaseS, u.DeadlineS, u.WorkS, u.Gain));
                }

                continue;
            }

            // The prompt and the first token earn only if the prompt is in by T_f.
            if (pricing.PrefillMinS(s.PromptTokens) <= s.Slo.TtftS + ServiceGain.Tolerance)
            {
                pieces.Add(new Piece(u.ReleaseS, u.ReleaseS + s.Slo.TtftS, pricing.PrefillS(s.PromptTokens) + pricing.OutputS, (w.Prompt * s.PromptTokens) + w.Decode));
            }

            var tokens = s.OutputTokens - 1;
            for (var g = 0; g < StreamGroups && tokens > 0; g++)
            {
                var first = 1 + (tokens * g / StreamGroups);
                var last = tokens * (g + 1) / StreamGroups;
                if (last >= first)
                {
                    var due = u.ReleaseS + s.Slo.TtftS + (last * s.Slo.TbtS);
                    pieces.Add(new Piece(u.ReleaseS, due, pricing.DecodeS(s.PromptTokens, first, last), w.Decode * (last - first + 1)));
                }
            }
        }

        return pieces;
    }

    private static List<Piece> SloPieces(List<WorkUnit> units, WorkPricing pricing)
    {
        var pieces = new List<Piece>(units.Count);
        foreach (var u in units)
        {
            if (u.Stream is { } s)
            {
                // On time means the first token by T_f and every gap within T_b, and a gap is at least one step.
                var paced = s.OutputTokens <= 1 || pricing.StepMinS <= s.Slo.TbtS + ServiceGain.Tolerance;
                if (paced && pricing.PrefillMinS(s.PromptTokens) <= s.Slo.TtftS + ServiceGain.Tolerance)
                {
                    pieces.Add(new Piece(u.ReleaseS, u.DeadlineS, u.WorkS, 1));
                }
            }
            else if (u.MinTimeS <= u.DeadlineS - u.ReleaseS + ServiceGain.Tolerance)
            {
                pieces.Add(new Piece(u.ReleaseS, u.DeadlineS, u.WorkS, u.Requests));
            }
        }

        return pieces;
    }

    // Every request must finish, so the run lasts at least until each release time plus all the work released from it
    // on, and until each unit's own shortest time after its release.
    private static double Makespan(List<WorkUnit> units)
    {
        var start = units.Min(u => u.ReleaseS);
        var end = units.Max(u => u.ReleaseS + u.MinTimeS);
        var after = 0.0;
        foreach (var u in units.OrderByDescending(u => u.ReleaseS))
        {
            after += u.WorkS;
            end = Math.Max(end, u.ReleaseS + after);
        }

        return end - start;
    }

    /// <summary>A piece of work with a window, a price in engine seconds and the value it earns if done in the window.</summary>
    internal readonly record struct Piece(double ReleaseS, double DeadlineS, double WorkS, double Value);
}
