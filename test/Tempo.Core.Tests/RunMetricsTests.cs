namespace Tempo.Core.Tests;

public class RunMetricsTests
{
    private static readonly Slo JobSlo = new(0, 0, 10);

    /// <summary>
    /// Ten requests with hand-computed verdicts (gain in brackets):
    /// latency: 1 met [100 + 8·4], 2 late start catching up [8·3], 3 aborted [0];
    /// throughput: 4 met [50 + 8·10], 5 late [0], 6 rejected [0];
    /// collective: job 100 (arrival 0) finishes at 9 ≤ 10, calls 7 [20 + 8·2] and 8 [30 + 8·3];
    /// job 200 (arrival 1) ends at 11.5 > 11, so calls 9 and 10 earn 0 though call 9 was early.
    /// </summary>
    private static List<RequestRecord> Run() =>
    [
        Records.Latency(1, prompt: 100, arrival: 0, 0.5, 0.6, 0.7, 0.8),
        Records.Latency(2, prompt: 100, arrival: 1, 2.25, 2.26, 2.27, 2.28, 2.29, 2.30),
        new(Records.Spec(3, RequestClass.Latency, 40, 5, new Slo(1, 0.1, 0), arrival: 2), 2, [2.5], 3, FinishReason.Aborted, "client went away"),
        Records.Done(Records.Spec(4, RequestClass.Throughput, 50, 10, new Slo(0, 0, 5), arrival: 0), 0, Times(0.5, 4.5, 10)),
        Records.Done(Records.Spec(5, RequestClass.Throughput, 50, 10, new Slo(0, 0, 5), arrival: 0), 0, Times(0.5, 6, 10)),
        new(Records.Spec(6, RequestClass.Throughput, 9000, 10, new Slo(0, 0, 5), arrival: 3), 3, [], 3, FinishReason.Rejected, "too long"),
        Records.Done(Records.Spec(7, RequestClass.Collective, 20, 2, JobSlo, arrival: 0, job: 100, stage: 0), 0, 2, 3),
        Records.Done(Records.Spec(8, RequestClass.Collective, 30, 3, JobSlo, arrival: 0, job: 100, stage: 1), 3, 8, 8.5, 9),
        Records.Done(Records.Spec(9, RequestClass.Collective, 20, 2, JobSlo, arrival: 1, job: 200, stage: 0), 1, 2, 4),
        Records.Done(Records.Spec(10, RequestClass.Collective, 30, 3, JobSlo, arrival: 1, job: 200, stage: 1), 4, 10, 11, 11.5),
    ];

    [Fact]
    public void Compute_MixedRun_TotalsMatchHandComputedGain()
    {
        var m = RunMetrics.Compute(Run(), GainWeights.Paper);

        const double gain = 132 + 24 + 130 + 36 + 54;
        Assert.Equal(10, m.Total.Requests);
        Assert.Equal(8, m.Total.Completed);
        Assert.Equal(4, m.Total.SloMet);
        Assert.Equal(gain, m.Total.ServiceGain);
        Assert.Equal(132 + 148 + 80 + 130 + 130 + 9080 + 36 + 54 + 36 + 54, m.Total.MaxServiceGain);
        Assert.Equal(11.5, m.DurationS);
        Assert.Equal(gain / 11.5, m.ServiceGoodput, 12);
        Assert.Equal(4 / 11.5, m.SloGoodput, 12);
        Assert.Equal(0.4, m.Attainment, 12);
    }

    [Fact]
    public void Compute_MixedRun_PerClassAttainmentAndGain()
    {
        var m = RunMetrics.Compute(Run(), GainWeights.Paper);

        var latency = m.ByClass[RequestClass.Latency];
        Assert.Equal((3, 2, 1, 156.0), (latency.Requests, latency.Completed, latency.SloMet, latency.ServiceGain));
        Assert.Equal(1 / 3.0, latency.Attainment, 12);

        var throughput = m.ByClass[RequestClass.Throughput];
        Assert.Equal((3, 2, 1, 130.0), (throughput.Requests, throughput.Completed, throughput.SloMet, throughput.ServiceGain));

        var collective = m.ByClass[RequestClass.Collective];
        Assert.Equal((4, 4, 2, 90.0), (collective.Requests, collective.Completed, collective.SloMet, collective.ServiceGain));
        Assert.Equal(0.5, collective.Attainment, 12);
        Assert.Equal((2, 1), (m.Jobs, m.JobsMet));
    }

    [Fact]
    public void Verdicts_MixedRun_PerRequestHandVerdictsThatSumToTheMetrics()
    {
        var run = Run();

        var verdicts = RequestVerdict.Of(run, GainWeights.Paper);

        // Call 9 finished early but its job missed the deadline, so it follows the job.
        Assert.Equal([true, false, false, true, false, false, true, true, false, false], verdicts.Select(v => v.SloMet));
        Assert.Equal([132.0, 24, 0, 130, 0, 0, 36, 54, 0, 0], verdicts.Select(v => v.Gain));
        var m = RunMetrics.Compute(run, GainWeights.Paper);
        Assert.Equal(m.Total.MaxServiceGain, verdicts.Sum(v => v.MaxGain));
    }

    [Fact]
    public void Compute_JobWhoseLastCallMissesDeadline_EveryCallEarnsNothing()
    {
        var records = Run().Where(r => r.Spec.JobId == 200).ToList();

        var m = RunMetrics.Compute(records, GainWeights.Paper);

        Assert.Equal(0, m.Total.ServiceGain);
        Assert.Equal(0, m.Total.SloMet);
        Assert.Equal((1, 0), (m.Jobs, m.JobsMet));
    }

    [Fact]
    public void Compute_JobWithAnAbortedCall_NotMetEvenIfOnTime()
    {
        var records = new List<RequestRecord>
        {
            Records.Done(Records.Spec(1, RequestClass.Collective, 20, 2, JobSlo, job: 7), 0, 1, 2),
            new(Records.Spec(2, RequestClass.Collective, 20, 2, JobSlo, job: 7), 0, [1], 2, FinishReason.Aborted, "gone"),
        };

        var m = RunMetrics.Compute(records, GainWeights.Paper);

        Assert.Equal(0, m.Total.ServiceGain);
        Assert.Equal(0, m.JobsMet);
    }

    [Fact]
    public void Compute_MixedRun_LatencySummariesCoverCompletedRequestsOnly()
    {
        var m = RunMetrics.Compute(Run(), GainWeights.Paper);

        var latency = m.ByClass[RequestClass.Latency];
        Assert.Equal(2, latency.Ttft.Count);
        Assert.Equal((0.5 + 1.25) / 2, latency.Ttft.Mean, 12);
        Assert.Equal(3 + 5, latency.Tbt.Count);
        Assert.Equal(4, m.ByClass[RequestClass.Collective].E2e.Count);
    }

    [Fact]
    public void Compute_NoRecords_ZeroDurationAndZeroGoodput()
    {
        var m = RunMetrics.Compute([], GainWeights.Paper);

        Assert.Equal(0, m.DurationS);
        Assert.Equal(0, m.ServiceGoodput);
        Assert.All(Enum.GetValues<RequestClass>(), c => Assert.Equal(0, m.ByClass[c].Requests));
    }

    /// <summary>n token times evenly spaced from first to last.</summary>
    private static double[] Times(double first, double last, int n) =>
        [.. Enumerable.Range(0, n).Select(i => first + (i * (last - first) / (n - 1)))];
}
