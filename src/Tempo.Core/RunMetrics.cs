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
        var jobMet = RequestVerdict.JobVerdicts(records);
        var classes = Enum.GetValues<RequestClass>();
        var perClass = new Aggregator[classes.Length];
        for (var c = 0; c < classes.Length; c++)
        {
            perClass[c] = new Aggregator(classes[c]);
        }

        // One pass in record order: each class sums exactly the terms, in the order, that a filter-then-sum
        // would, and the total sums all of them in record order.
        var total = new Aggregator(null);
        foreach (var r in records)
        {
            var s = new Scored(r, RequestVerdict.Judge(r, weights, jobMet));
            total.Add(s);
            perClass[Array.IndexOf(classes, r.Spec.Class)].Add(s);
        }

        var byClass = new Dictionary<RequestClass, ClassMetrics>(classes.Length);
        var ttft = new double[classes.Length][];
        var tbt = new double[classes.Length][];
        var e2e = new double[classes.Length][];
        for (var c = 0; c < classes.Length; c++)
        {
            (ttft[c], tbt[c], e2e[c]) = perClass[c].SortedSamples();
            byClass.Add(classes[c], perClass[c].Result(ttft[c], tbt[c], e2e[c]));
        }

        // The sorted total sample is the merge of the sorted class samples: the millions of TBT gaps of a long
        // run are sorted once, not twice.
        var totalMetrics = total.Result(Percentile.MergeSorted(ttft), Percentile.MergeSorted(tbt), Percentile.MergeSorted(e2e));
        return new RunMetrics
        {
            DurationS = records.Count == 0 ? 0 : records.Max(r => r.FinishS) - records.Min(r => r.Spec.ArrivalS),
            Total = totalMetrics,
            ByClass = byClass,
            Jobs = jobMet.Count,
            JobsMet = jobMet.Values.Count(m => m),
        };
    }

    /// <summary>Counts, gains (summed in record order) and the latency samples of one class, or of all.</summary>
    private sealed class Aggregator(RequestClass? only)
    {
        private readonly List<RequestRecord> _done = [];
        private int _requests;
        private int _met;
        private double _gain;
        private double _maxGain;

        public void Add(in Scored s)
        {
            _requests++;
            _met += s.Verdict.SloMet ? 1 : 0;
            _gain += s.Verdict.Gain;
            _maxGain += s.Verdict.MaxGain;
            if (only is not null && s.Record.Completed)
            {
                _done.Add(s.Record);
            }
        }

        /// <summary>TTFT, TBT gaps and E2E of the completed requests, each sorted ascending.</summary>
        public (double[] Ttft, double[] Tbt, double[] E2e) SortedSamples()
        {
            var withToken = 0;
            var gaps = 0;
            foreach (var r in _done)
            {
                var n = r.TokenTimesS.Count;
                withToken += n > 0 ? 1 : 0;
                gaps += Math.Max(0, n - 1);
            }

            var ttft = new double[withToken];
            var tbt = new double[gaps];
            var e2e = new double[_done.Count];
            int t = 0, g = 0, e = 0;
            foreach (var r in _done)
            {
                var times = r.TokenTimesS;
                if (times.Count > 0)
                {
                    ttft[t++] = times[0] - r.ArrivalS;
                }

                for (var i = 1; i < times.Count; i++)
                {
                    tbt[g++] = times[i] - times[i - 1];
                }

                e2e[e++] = r.E2eS;
            }

            Percentile.Sort(ttft);
            Percentile.Sort(tbt);
            Percentile.Sort(e2e);
            return (ttft, tbt, e2e);
        }

        public ClassMetrics Result(double[] ttft, double[] tbt, double[] e2e) =>
            new(_requests, e2e.Length, _met, _gain, _maxGain, Percentile.SummariseSorted(ttft), Percentile.SummariseSorted(tbt), Percentile.SummariseSorted(e2e));
    }

    private readonly record struct Scored(RequestRecord Record, RequestVerdict Verdict);
}
