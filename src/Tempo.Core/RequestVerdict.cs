namespace Tempo.Core;

/// <summary>
/// How one request fared against its SLO, by exactly the rules <see cref="RunMetrics"/> aggregates: per-request
/// exports and the run's per-class counts can never disagree.
/// </summary>
/// <param name="SloMet">Latency: TTFT and every TBT gap met. Throughput: completed by its deadline. Collective: its whole job finished by the job deadline.</param>
/// <param name="Gain">Exact service gain earned (weighted tokens).</param>
/// <param name="MaxGain">Gain had the request met its SLO.</param>
public readonly record struct RequestVerdict(bool SloMet, double Gain, double MaxGain)
{
    /// <summary>
    /// The verdict of every record, in record order. A collective call's verdict follows its job, so the records of a
    /// whole run must be passed together, each request exactly once.
    /// </summary>
    public static IReadOnlyList<RequestVerdict> Of(IReadOnlyCollection<RequestRecord> records, GainWeights weights)
    {
        ArgumentNullException.ThrowIfNull(records);
        ArgumentNullException.ThrowIfNull(weights);
        var jobMet = JobVerdicts(records);
        var verdicts = new RequestVerdict[records.Count];
        var i = 0;
        foreach (var r in records)
        {
            verdicts[i++] = Judge(r, weights, jobMet);
        }

        return verdicts;
    }

    /// <summary>Whether each collective job (by id) finished every call within its deadline, from the job's arrival.</summary>
    internal static Dictionary<long, bool> JobVerdicts(IEnumerable<RequestRecord> records) =>
        records.Where(r => r.Spec.Class == RequestClass.Collective && r.Spec.JobId is not null)
            .GroupBy(r => r.Spec.JobId!.Value)
            .ToDictionary(g => g.Key, g =>
            {
                var jobArrival = g.Min(r => r.Spec.ArrivalS);
                var jobDeadline = g.First().Spec.Slo.DeadlineS;
                return g.All(r => r.Completed) && g.Max(r => r.FinishS) - jobArrival <= jobDeadline + ServiceGain.Tolerance;
            });

    /// <summary>The verdict of one record, given the verdicts of the run's jobs.</summary>
    internal static RequestVerdict Judge(RequestRecord r, GainWeights w, Dictionary<long, bool> jobMet)
    {
        var max = w.Of(r.Spec.PromptTokens, r.Spec.OutputTokens);
        switch (r.Spec.Class)
        {
            case RequestClass.Latency:
                return new RequestVerdict(ServiceGain.LatencyMet(r), ServiceGain.OfLatency(r, w), max);
            case RequestClass.Throughput:
                return new RequestVerdict(r.Completed && r.E2eS <= r.Spec.Slo.DeadlineS + ServiceGain.Tolerance, ServiceGain.OfThroughput(r, w), max);
            default:
                var met = r.Spec.JobId is { } job && jobMet.GetValueOrDefault(job);
                return new RequestVerdict(met, met ? w.Of(r.Spec.PromptTokens, r.TokenTimesS.Count) : 0, max);
        }
    }
}
