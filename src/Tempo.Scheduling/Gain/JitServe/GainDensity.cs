using Tempo.Core;

namespace Tempo.Scheduling.Gain.JitServe;

/// <summary>
/// A request's priority: service-gain density first (higher is served first), then remaining time (shorter
/// first, the artifact's tie-breaker). Callers break remaining ties by submission order.
/// </summary>
/// <param name="Density">Estimated gain ÷ remaining time, in weighted tokens per second.</param>
/// <param name="RemainingS">Estimated remaining processing time in seconds.</param>
internal readonly record struct PriorityKey(double Density, double RemainingS) : IComparable<PriorityKey>
{
    /// <summary>Negative when this key is served before <paramref name="other"/>.</summary>
    public int CompareTo(PriorityKey other)
    {
        var c = other.Density.CompareTo(Density);
        return c != 0 ? c : RemainingS.CompareTo(other.RemainingS);
    }
}

/// <summary>What the gain estimate of one request (or call) needs, all times in seconds.</summary>
/// <param name="Class">Request class.</param>
/// <param name="HasFirstToken">True once the first output token exists (Q8: the streaming branch keys on this).</param>
/// <param name="PromptTokens">Prompt tokens P.</param>
/// <param name="LengthBound">Current length bound L̂.</param>
/// <param name="RemainingTokens">R = L̂ − g, at least 1 (Q6).</param>
/// <param name="ElapsedS">s = now − arrival.</param>
/// <param name="DeadlineS">Relative deadline D (latency: T_f + T_b·L̂, Q3; collective: the call's stage deadline).</param>
/// <param name="TtftS">Time-to-first-token bound T_f (latency only).</param>
/// <param name="RemainingS">Trem (collective: the whole job's).</param>
/// <param name="UnitTimeS">Unit time u.</param>
internal readonly record struct GainInputs(
    RequestClass Class,
    bool HasFirstToken,
    int PromptTokens,
    int LengthBound,
    int RemainingTokens,
    double ElapsedS,
    double DeadlineS,
    double TtftS,
    double RemainingS,
    double UnitTimeS);

/// <summary>
/// The estimated service gain, remaining time and density of docs/TEMPO.md §2.5 as pure functions. A request
/// predicted to meet its SLO keeps its full value; one predicted to miss it is discounted by
/// <c>(D / (s + Trem))^p</c>, which with p = 100 pushes it to the back (best effort).
/// </summary>
internal static class GainDensity
{
    /// <summary>Smallest SLO ratio before the exponent (the artifact's clamp floor).</summary>
    public const double MinRatio = 1e-6;

    /// <summary>Smallest remaining time, so densities stay finite.</summary>
    public const double MinRemainingS = 1e-6;

    /// <summary><c>min(1, max(1e-6, slo/projected))</c>; a non-positive projection counts as 1 s, as in the artifact.</summary>
    public static double Clamp(double sloS, double projectedS)
    {
        var ratio = projectedS > 0 ? sloS / projectedS : sloS;
        return Math.Min(1, Math.Max(MinRatio, ratio));
    }

    /// <summary>The SLO penalty factor <c>clamp(slo/projected)^p</c>, in [0, 1].</summary>
    public static double Penalty(double sloS, double projectedS, double exponent) => Math.Pow(Clamp(sloS, projectedS), exponent);

    /// <summary>Trem = max(1e-6, u·tokens).</summary>
    public static double RemainingTime(double unitTimeS, long remainingTokens) => Math.Max(MinRemainingS, unitTimeS * remainingTokens);

    /// <summary>
    /// Q3: the request-level deadline of a latency request from its predicted bound, <c>T_f + T_b·L̂</c>; the
    /// artifact used the true output length here, an oracle leak.
    /// </summary>
    public static double LatencyDeadline(Slo slo, int lengthBound) => slo.TtftS + (slo.TbtS * lengthBound);

    /// <summary>The estimated gain Ĝ of §2.5 (weighted tokens).</summary>
    public static double EstimatedGain(in GainInputs x, double exponent, double decodeWeight)
    {
        var onTime = Penalty(x.DeadlineS, x.ElapsedS + x.RemainingS, exponent);
        if (x.Class != RequestClass.Latency)
        {
            return (x.PromptTokens + (decodeWeight * x.LengthBound)) * onTime;
        }

        if (x.HasFirstToken)
        {
            // Q8: branch on "has first token", not on "gained in the last step", and drop the artifact's
            // last-step-gain term: it is sunk gain, and small, so it should not steer the future.
            return decodeWeight * x.RemainingTokens * onTime;
        }

        return (x.PromptTokens * Penalty(x.TtftS, x.ElapsedS + x.UnitTimeS, exponent)) + (decodeWeight * x.LengthBound * onTime);
    }

    /// <summary>Density = Ĝ ÷ Trem, as a priority key.</summary>
    public static PriorityKey Key(double gain, double remainingS) => new(gain / remainingS, remainingS);
}
