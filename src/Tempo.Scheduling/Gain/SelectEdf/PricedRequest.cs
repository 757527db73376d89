using System.Runtime.CompilerServices;

using Tempo.Engine;
using Tempo.Scheduling.Prediction;

namespace Tempo.Scheduling.Gain.SelectEdf;

/// <summary>What <c>tempo</c> keeps for one live request: its length posterior and its latest pricing (tier, times, value density).</summary>
internal sealed class PricedRequest(ILengthPosterior posterior)
{
    // Read for every request the scheduler touches, several times a step: the throw lives in its own method so that
    // this stays small enough to inline.

    /// <summary>The pricing state of a request <c>tempo</c> saw arrive.</summary>
    /// <param name="r">A live request of this policy.</param>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static PricedRequest Of(EngineRequest r) => r.PolicyState as PricedRequest ?? Missing(r);

    public ILengthPosterior Posterior { get; } = posterior;

    public bool SloLost { get; set; }

    /// <summary>A lost stream with nothing earnable on its typical length, but something on its upper quantile.</summary>
    public bool MayEarn { get; set; }

    /// <summary>The generated count <see cref="RankTotal"/> and <see cref="FeasibilityTotal"/> were read at (-1: never).</summary>
    public int QuantilesAt { get; set; } = -1;

    /// <summary>Total length at the rank quantile, given the tokens generated so far.</summary>
    public int RankTotal { get; set; }

    /// <summary>Total length at the feasibility quantile, given the tokens generated so far.</summary>
    public int FeasibilityTotal { get; set; }

    /// <summary>The generated count <see cref="UpperTotal"/> was read at (-1: never).</summary>
    public int UpperAt { get; set; } = -1;

    /// <summary>The quantile <see cref="UpperTotal"/> was read at.</summary>
    public double UpperQuantile { get; set; }

    /// <summary>Total length at an upper quantile (dead work's packing, the may-earn test), given the tokens generated so far.</summary>
    public int UpperTotal { get; set; }

    public int Tier { get; set; }

    /// <summary>The tier the last pricing gave, before the slot schedule's verdict.</summary>
    public int PricedTier { get; set; }

    /// <summary>The re-plan on kept prices that last listed this request as safe.</summary>
    public long SafeMark { get; set; }

    /// <summary>The slot verdict (tier and shed flag) the last re-plan that listed this request as safe gave it.</summary>
    public int VerdictTier { get; set; } = -1;

    /// <summary>See <see cref="VerdictTier"/>.</summary>
    public bool VerdictShed { get; set; }

    /// <summary>The re-plan on kept prices whose slot verdict last moved this request (-1: a whole re-plan; 0: never).</summary>
    public long VerdictMovedMark { get; set; }

    /// <summary>The re-plan on kept prices whose head merge last offered this request as changed.</summary>
    public long OfferedMark { get; set; }

    /// <summary>Counts pricings, so a tier-change entry made before the latest one is recognised as stale.</summary>
    public int Stamp { get; set; }

    /// <summary>The last pass of the runner order that placed this request.</summary>
    public long RunnerOrderStamp { get; set; }

    /// <summary>The evaluation (counted from 1) this request was last priced in.</summary>
    public long PricedIn { get; set; }

    /// <summary>The re-plan (counted from 1) after which this request was last listed as priced again (0: never).</summary>
    public long RepricedAfterReplan { get; set; }

    /// <summary>When the clock alone changes this request's tier next (infinity: not before the next re-plan).</summary>
    public double NextChangeS { get; set; }

    public double DeadlineS { get; set; }

    public double LatestStartS { get; set; }

    // Typical time to the end of the request; for a job call, to its job's end (each later stage at the mean
    // typical output of the job calls seen so far). Orders dead work, longest first.
    public double ChainS { get; set; }

    public double DemandS { get; set; }

    /// <summary>Feasible on its own, but shed because no slot frees in time: displacing a runner would save it.</summary>
    public bool ShedForSlot { get; set; }

    public double TypicalS { get; set; }

    public double FirstTokenS { get; set; }

    public double DueS { get; set; }

    public double Density { get; set; }

    [MethodImpl(MethodImplOptions.NoInlining)]
    private static PricedRequest Missing(EngineRequest r) =>
        throw new InvalidOperationException($"{r} has no tempo state (OnArrival not called)");
}
