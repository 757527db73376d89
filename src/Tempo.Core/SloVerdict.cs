namespace Tempo.Core;

/// <summary>One finished request as a server or the gateway reports it: its record, SLO verdict and service gain.</summary>
/// <param name="Record">Arrival, token times and how it ended.</param>
/// <param name="SloMet">Whether its SLO was met (see <see cref="SloVerdict"/>).</param>
/// <param name="ServiceGain">Weighted tokens delivered within the SLO.</param>
/// <param name="MaxServiceGain">Gain had the SLO been met with the tokens requested.</param>
public sealed record RequestOutcome(RequestRecord Record, bool SloMet, double ServiceGain, double MaxServiceGain);

/// <summary>
/// Per-request SLO verdict and service gain, with the exact definitions of <see cref="RunMetrics"/> (Tempo.Core)
/// so that a served request and a simulated one are scored alike.
/// </summary>
public static class SloVerdict
{
    /// <summary>Scores one finished request.</summary>
    /// <remarks>
    /// A collective call is judged alone against its job's deadline, counted from the job's first call seen by
    /// the server or gateway that scores it: neither can know whether later stages will make it. RunMetrics, which sees whole jobs,
    /// also fails calls of a job that misses its deadline later.
    /// </remarks>
    public static RequestOutcome Score(RequestRecord record, GainWeights weights)
    {
        ArgumentNullException.ThrowIfNull(record);
        ArgumentNullException.ThrowIfNull(weights);
        var spec = record.Spec;
        var max = weights.Of(spec.PromptTokens, spec.OutputTokens);
        switch (spec.Class)
        {
            case RequestClass.Latency:
                return new RequestOutcome(record, ServiceGain.LatencyMet(record), ServiceGain.OfLatency(record, weights), max);
            case RequestClass.Throughput:
                var met = record.Completed && record.E2eS <= spec.Slo.DeadlineS + ServiceGain.Tolerance;
                return new RequestOutcome(record, met, ServiceGain.OfThroughput(record, weights), max);
            default:
                var jobMet = record.Completed && record.FinishS - spec.ArrivalS <= spec.Slo.DeadlineS + ServiceGain.Tolerance;
                return new RequestOutcome(record, jobMet, jobMet ? weights.Of(spec.PromptTokens, record.TokenTimesS.Count) : 0, max);
        }
    }
}
