namespace Tempo.Core;

/// <summary>
/// The exact, hard-threshold service gain of docs/TEMPO.md §2.3 (the paper's "token goodput"), per
/// request. Only completed requests earn gain, as in the artifact's client-side metric.
/// </summary>
public static class ServiceGain
{
    /// <summary>
    /// Gain of a latency request: the prompt counts if TTFT ≤ T_f; output token i (0-based) counts if it arrived
    /// by <c>arrival + T_f + i·T_b</c>, a cumulative schedule on which a late request can catch up.
    /// </summary>
    /// <remarks>
    /// Deviation: the artifact counts only tokens after the first (its TBT list); we count the first token too,
    /// against its own deadline T_f, so a fully on-time request earns P + 8·D as in the other classes.
    /// </remarks>
    public static double OfLatency(RequestRecord r, GainWeights w)
    {
        if (!r.Completed || r.TokenTimesS.Count == 0)
        {
            return 0;
        }

        var slo = r.Spec.Slo;
        // Same tolerance as every other deadline here, so the prompt and the first token agree with LatencyMet.
        var gain = r.TtftS <= slo.TtftS + Tolerance ? w.Prompt * r.Spec.PromptTokens : 0;
        var onTime = 0;
        for (var i = 0; i < r.TokenTimesS.Count; i++)
        {
            if (r.TokenTimesS[i] - r.ArrivalS <= slo.TtftS + (i * slo.TbtS) + Tolerance)
            {
                onTime++;
            }
        }

        return gain + (w.Decode * onTime);
    }

    /// <summary>Gain of a throughput request: everything if it completed by its deadline, else nothing.</summary>
    public static double OfThroughput(RequestRecord r, GainWeights w) =>
        r.Completed && r.E2eS <= r.Spec.Slo.DeadlineS + Tolerance ? w.Of(r.Spec.PromptTokens, r.TokenTimesS.Count) : 0;

    /// <summary>Whether a latency request met its SLO strictly: TTFT met and every gap within T_b.</summary>
    public static bool LatencyMet(RequestRecord r)
    {
        if (!r.Completed || r.TtftS is not { } ttft || ttft > r.Spec.Slo.TtftS + Tolerance)
        {
            return false;
        }

        return r.TbtGapsS().All(g => g <= r.Spec.Slo.TbtS + Tolerance);
    }

    /// <summary>Slack for floating-point comparisons of times (1 µs).</summary>
    public const double Tolerance = 1e-6;
}
