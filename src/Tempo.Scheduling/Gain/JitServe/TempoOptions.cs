namespace Tempo.Scheduling.Gain.JitServe;

/// <summary>How the remaining time of a collective job is estimated for its shared priority key.</summary>
public enum CollectiveRemainingWork
{
    /// <summary>Σ remaining tokens of all live calls, as if they ran one after another (the artifact; Q17 default).</summary>
    SumOfLiveCalls,

    /// <summary>The longest remaining live call: peers of a stage run in parallel (Q17 option).</summary>
    LongestLiveCall,
}

/// <summary>
/// Parameters of the Tempo (JITServe) policy, with the defaults of docs/TEMPO.md §3.11. Exposed so that
/// ablations can vary them from the command line; none is tuned to a workload.
/// </summary>
public sealed record TempoOptions
{
    /// <summary>The defaults.</summary>
    public static TempoOptions Default { get; } = new();

    /// <summary>Penalty exponent p on the SLO ratio in the estimated gain (experiments: 100).</summary>
    public double PenaltyExponent { get; init; } = 100;

    /// <summary>Weight of an output token relative to a prompt token (8).</summary>
    public double DecodeWeight { get; init; } = 8;

    /// <summary>Re-plan interval R in scheduler calls (50); also the horizon of the collective top-up.</summary>
    public int ReplanInterval { get; init; } = 50;

    /// <summary>Candidate-pool factor k: the re-plan considers the top k·B requests by density (1).</summary>
    public int CandidateFactor { get; init; } = 1;

    /// <summary>Most activations (and the batch-shrink step) per re-plan, S (3).</summary>
    public int MaxSwapsPerReplan { get; init; } = 3;

    /// <summary>Adds peers of a collective job to the chosen group until it gets its required token rate (§3.5 A′, Q9; on).</summary>
    public bool CollectiveTopUp { get; init; } = true;

    /// <summary>Actually swaps out up to S running requests shorter than the chosen group (Q10 option; the artifact only counts them).</summary>
    public bool EvictOutOfGroup { get; init; }

    /// <summary>Just-in-time bandwidth (§3.6 [REC], Q21): defer running requests that are ahead of their SLO pace when slots are short (off).</summary>
    public bool JustInTime { get; init; }

    /// <summary>Free CPU-swap fraction below which re-plans stop initiating swaps (0.2).</summary>
    public double SwapLowWatermark { get; init; } = 0.2;

    /// <summary>Free CPU-swap fraction above which re-plans resume (0.8).</summary>
    public double SwapHighWatermark { get; init; } = 0.8;

    /// <summary>Length bounds are refined every K generated tokens, K (32), and at every re-plan.</summary>
    public int RefineEveryTokens { get; init; } = 32;

    /// <summary>Unit time u (seconds per iteration) before any step has been measured (0.02 s).</summary>
    public double InitialUnitTimeS { get; init; } = 0.02;

    /// <summary>EWMA weight of the newest step duration in u (0.1).</summary>
    public double UnitTimeSmoothing { get; init; } = 0.1;

    /// <summary>Collective remaining-time estimate (Q17).</summary>
    public CollectiveRemainingWork CollectiveRemaining { get; init; } = CollectiveRemainingWork.SumOfLiveCalls;

    /// <summary>Dull abort fires only while fewer than this many requests wait with nothing running (100).</summary>
    public int DullPendingLimit { get; init; } = 100;

    /// <summary>Consecutive idle scheduler calls before the dull abort drops every waiting and swapped request (2000).</summary>
    public int DullMaxIdleSteps { get; init; } = 2000;

    /// <summary>Kernel width σ on log1p token counts for template matching (0.5).</summary>
    public double TemplateSigma { get; init; } = 0.5;

    /// <summary>Throws <see cref="ArgumentException"/> when a parameter is out of range.</summary>
    public void Validate()
    {
        Require(PenaltyExponent >= 0 && double.IsFinite(PenaltyExponent), $"penalty exponent must be finite and non-negative, got {PenaltyExponent}");
        Require(DecodeWeight > 0 && double.IsFinite(DecodeWeight), $"decode weight must be positive, got {DecodeWeight}");
        Require(ReplanInterval >= 1, $"re-plan interval must be at least 1, got {ReplanInterval}");
        Require(CandidateFactor >= 1, $"candidate factor k must be at least 1, got {CandidateFactor}");
        Require(MaxSwapsPerReplan >= 0, $"swaps per re-plan cannot be negative, got {MaxSwapsPerReplan}");
        Require(SwapLowWatermark is >= 0 and <= 1 && SwapHighWatermark is >= 0 and <= 1 && SwapLowWatermark <= SwapHighWatermark,
            $"swap watermarks must satisfy 0 ≤ low ≤ high ≤ 1, got {SwapLowWatermark} and {SwapHighWatermark}");
        Require(RefineEveryTokens >= 1, $"refinement interval must be at least 1 token, got {RefineEveryTokens}");
        Require(InitialUnitTimeS > 0 && double.IsFinite(InitialUnitTimeS), $"initial unit time must be positive, got {InitialUnitTimeS}");
        Require(UnitTimeSmoothing is > 0 and <= 1, $"unit-time smoothing must be in (0, 1], got {UnitTimeSmoothing}");
        Require(DullPendingLimit >= 1 && DullMaxIdleSteps >= 1, "dull-abort limits must be positive");
        Require(TemplateSigma > 0 && double.IsFinite(TemplateSigma), $"template σ must be positive, got {TemplateSigma}");
    }

    private static void Require(bool ok, string message)
    {
        if (!ok)
        {
            throw new ArgumentException(message);
        }
    }
}
