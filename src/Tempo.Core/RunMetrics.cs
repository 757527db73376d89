namespace Tempo.Core;

/// <summary>Metrics of one request class (or of all classes) over a run.</summary>
/// <param name="Requests">Requests issued (collective: calls).</param>
/// <param name="Completed">Requests that produced their full response.</param>
/// <param name="SloMet">Requests that met their SLO (latency: strict TTFT and every TBT gap).</param>
/// <param name="ServiceGain">Σ exact service gain (§2.3), weighted tokens.</param>
/// <param name="MaxServiceGain">Σ gain had every request met its SLO.</param>
/// <param name="Ttft">Time to first token of completed requests.</param>
/// <param name="Tbt">Gaps between consecutive output tokens of completed requests.</param>
/// <param name="E2e">End-to-end latency of completed requests (collective: per call).</param>
public sealed record ClassMetrics(
    int Requests,
    int Completed,
    int SloMet,
    double ServiceGain,
    double MaxServiceGain,
    LatencySummary Ttft,
    LatencySummary Tbt,
    LatencySummary E2e)
{
    /// <summary>Fraction of issued requests that met their SLO.</summary>
    public double Attainment => Requests == 0 ? double.NaN : (double)SloMet / Requests;
}

/// <summary>
/// All evaluation metrics of one run, computed from request records exactly as a client would see them.
/// Duration runs from the first arrival to the last finish, so a backlog drained late lowers goodput.
/// </summary>
public sealed record RunMetrics
{
    /// <summary>Wall (or simulated) duration of the run in seconds.</summary>
    public required double DurationS { get; init; }

    /// <summary>All requests together.</summary>
    public required ClassMetrics Total { get; init; }

    /// <summary>Per class; every class appears, possibly with zero requests.</summary>
    public required IReadOnlyDictionary<RequestClass, ClassMetrics> ByClass { get; init; }

    /// <summary>Collective jobs issued.</summary>
    public required int Jobs { get; init; }

    /// <summary>Collective jobs that met their job deadline.</summary>
    public required int JobsMet { get; init; }

    /// <summary>Service goodput: Σ service gain per second.</summary>
    public double ServiceGoodput => DurationS > 0 ? Total.ServiceGain / DurationS : 0;

    /// <summary>SLO goodput: requests meeting their SLO per second.</summary>
    public double SloGoodput => DurationS > 0 ? Total.SloMet / DurationS : 0;

    /// <summary>Fraction of all requests meeting their SLO.</summary>
    public double Attainment => Total.Attainment;

    /// <summary>Computes the metrics of a run. Every request must appear exactly once in <paramref name="records"/>.</summary>
    public static RunMetrics Compute(IReadOnlyCollection<RequestRecord> records, GainWeights weights)
    {
        var jobMet = JobVerdicts(records);
        var perRequest = records.Select(r => Score(r, weights, jobMet)).ToList();
        var byClass = Enum.GetValues<RequestClass>().ToDictionary(c => c, c => Aggregate(perRequest.Where(s => s.Record.Spec.Class == c)));
        var duration = records.Count == 0 ? 0 : records.Max(r => r.FinishS) - records.Min(r => r.Spec.ArrivalS);
        return new RunMetrics
        {
            DurationS = duration,
            Total = Aggregate(perRequest),
            ByClass = byClass,
            Jobs = jobMet.Count,
            JobsMet = jobMet.Values.Count(m => m),
        };
    }

    private static Dictionary<long, bool> JobVerdicts(IEnumerable<RequestRecord> records) =>
        records.Where(r => r.Spec.Class == RequestClass.Collective && r.Spec.JobId is not null)
            .GroupBy(r => r.Spec.JobId!.Value)
            .ToDictionary(g => g.Key, g =>
            {
                var jobArrival = g.Min(r => r.Spec.ArrivalS);
                var jobDeadline = g.First().Spec.Slo.DeadlineS;
                return g.All(r => r.Completed) && g.Max(r => r.FinishS) - jobArrival <= jobDeadline + ServiceGain.Tolerance;
            });

    private static Scored Score(RequestRecord r, GainWeights w, Dictionary<long, bool> jobMet)
    {
        var max = w.Of(r.Spec.PromptTokens, r.Spec.OutputTokens);
        return r.Spec.Class switch
        {
            RequestClass.Latency => new Scored(r, ServiceGain.LatencyMet(r), ServiceGain.OfLatency(r, w), max),
            RequestClass.Throughput => new Scored(r, r.Completed && r.E2eS <= r.Spec.Slo.DeadlineS + ServiceGain.Tolerance, ServiceGain.OfThroughput(r, w), max),
            _ => Collective(r, w, jobMet, max),
        };
    }

    private static Scored Collective(RequestRecord r, GainWeights w, Dictionary<long, bool> jobMet, double max)
    {
        var met = r.Spec.JobId is { } job && jobMet.GetValueOrDefault(job);
        return new Scored(r, met, met ? w.Of(r.Spec.PromptTokens, r.TokenTimesS.Count) : 0, max);
    }

    private static ClassMetrics Aggregate(IEnumerable<Scored> scored)
    {
        var list = scored.ToList();
        var done = list.Where(s => s.Record.Completed).Select(s => s.Record).ToList();
        return new ClassMetrics(
            list.Count,
            done.Count,
            list.Count(s => s.Met),
            list.Sum(s => s.Gain),
            list.Sum(s => s.MaxGain),
            Percentile.Summarise(done.Where(r => r.TtftS is not null).Select(r => r.TtftS!.Value)),
            Percentile.Summarise(done.SelectMany(r => r.TbtGapsS())),
            Percentile.Summarise(done.Select(r => r.E2eS)));
    }

    private readonly record struct Scored(RequestRecord Record, bool Met, double Gain, double MaxGain);
}
