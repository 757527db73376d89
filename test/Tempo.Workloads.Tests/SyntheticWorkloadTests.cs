using Tempo.Core;

namespace Tempo.Workloads.Tests;

public class SyntheticWorkloadTests
{
    private static readonly Workload Mixed3000 = WorkloadCatalog.Create("mixed", new WorkloadOptions { Requests = 3000, Rate = 6.0 });

    [Fact]
    public void Create_Mixed3000_CountsMatchArtifactTable()
    {
        var requests = Mixed3000.Requests;

        Assert.Equal(1400, requests.Count(r => r.Class == RequestClass.Latency));
        Assert.Equal(1400, requests.Count(r => r.Class == RequestClass.Throughput));
        Assert.Equal(100, Jobs(Mixed3000, WorkloadBuilder.TreeOfThoughtApp).Count);
        Assert.Equal(100, Jobs(Mixed3000, WorkloadBuilder.DeepResearchApp).Count);
        Assert.Equal(3000, Mixed3000.Arrivals);
    }

    [Fact]
    public void Create_Mixed_IdsFollowArrivalOrder()
    {
        var requests = Mixed3000.Requests;

        Assert.Equal(Enumerable.Range(0, requests.Count).Select(i => (long)i), requests.Select(r => r.Id));
        Assert.True(requests.Zip(requests.Skip(1)).All(p => p.First.ArrivalS <= p.Second.ArrivalS));
    }

    [Fact]
    public void Create_Mixed_SloMultipliersCycleOneToFour()
    {
        var options = new WorkloadOptions();
        var multipliers = Mixed3000.Requests
            .Where(r => r.Class != RequestClass.Collective)
            .Select(r => r.Slo.TtftS / options.SloBase.TtftS)
            .ToList();

        foreach (var m in new[] { 1.0, 2.0, 3.0, 4.0 })
        {
            Assert.InRange(multipliers.Count(x => Math.Abs(x - m) < 1e-9) / (double)multipliers.Count, 0.22, 0.28);
        }

        Assert.All(Mixed3000.Requests.Where(r => r.Class != RequestClass.Collective), r =>
        {
            var m = r.Slo.TtftS / options.SloBase.TtftS;
            Assert.Equal(options.SloBase.Scale(m), r.Slo);
        });
    }

    [Fact]
    public void Create_Mixed_MainStreamMultiplierIsPositionModFour()
    {
        // Main-stream arrivals in arrival order: the i-th gets ×((i mod 4) + 1).
        var main = Mixed3000.Requests.Where(r => r.ClientId == SyntheticWorkload.MainClient)
            .GroupBy(r => r.JobId is { } j ? -1 - j : r.Id)
            .Select(g => g.First())
            .OrderBy(r => r.ArrivalS).ThenBy(r => r.Id)
            .Select(r => r.Slo.TtftS)
            .ToList();

        Assert.Equal(2900, main.Count);
        Assert.Equal(Enumerable.Range(0, main.Count).Select(i => (i % 4) + 1.0), main);
    }

    [Fact]
    public void Create_Mixed_TwoStreamsSplitTheRate()
    {
        var workload = WorkloadCatalog.Create("mixed", new WorkloadOptions { Requests = 3000, Rate = 6.0, Arrival = ArrivalProcess.Poisson });
        var dr = TopLevelArrivals(workload, SyntheticWorkload.DeepResearchClient);
        var main = TopLevelArrivals(workload, SyntheticWorkload.MainClient);

        // DR at 6·100/3000 = 0.2/s, main at 5.8/s; both start at t = 0.
        Assert.Equal(100, dr.Count);
        Assert.InRange((dr.Count - 1) / dr[^1], 0.15, 0.27);
        Assert.InRange((main.Count - 1) / main[^1], 5.5, 6.1);
    }

    [Fact]
    public void Create_Mixed_TreeOfThoughtJobsHaveArtifactShape()
    {
        var jobs = Jobs(Mixed3000, WorkloadBuilder.TreeOfThoughtApp);

        Assert.All(jobs, job =>
        {
            var calls = job.ToList();
            Assert.Equal(8, calls.Count);
            Assert.Equal([3, 1, 3, 1], Enumerable.Range(0, 4).Select(s => calls.Count(c => c.Stage == s)));
            Assert.All(calls, c =>
            {
                Assert.Equal(4, c.StageCount);
                Assert.InRange(c.OutputTokens, 1, 256);
                Assert.Equal(calls[0].ArrivalS, c.ArrivalS);
                Assert.Equal(calls[0].Slo, c.Slo);
                Assert.Equal(RequestClass.Collective, c.Class);
            });

            // Job deadline TTLT·m·4; value calls read the prompt plus three thoughts.
            var m = calls[0].Slo.TtftS / 1.0;
            Assert.Equal(10.0 * m * 4, calls[0].Slo.DeadlineS, 9);
            var generate = calls.First(c => c.Stage == 0);
            var value = calls.First(c => c.Stage == 1);
            Assert.Equal(generate.PromptTokens + (3 * generate.OutputTokens) + WorkloadBuilder.ValueInstructionTokens, value.PromptTokens);
        });
    }

    [Fact]
    public void Create_Mixed_DeepResearchJobsComeFromTestSplit()
    {
        var testShapes = DeepResearchJobs.Test.Select(Shape).ToHashSet();
        var trainingOnly = DeepResearchJobs.Training.Select(Shape).Where(s => !testShapes.Contains(s)).ToHashSet();
        var jobs = Jobs(Mixed3000, WorkloadBuilder.DeepResearchApp);

        Assert.All(jobs, job =>
        {
            var calls = job.OrderBy(c => c.Stage).ThenBy(c => c.Id).ToList();
            var shape = string.Join("|", calls.GroupBy(c => c.Stage).Select(s => string.Join(";", s.Select(c => $"{c.PromptTokens},{c.OutputTokens}"))));
            Assert.Contains(shape, testShapes);
            Assert.DoesNotContain(shape, trainingOnly);
            Assert.All(calls, c => Assert.Equal(c.StageCount * 10.0 * (calls[0].Slo.TtftS / 1.0), c.Slo.DeadlineS, 9));
            Assert.All(calls, c => Assert.Equal(SyntheticWorkload.DeepResearchClient, c.ClientId));
        });
    }

    [Fact]
    public void Create_DeepResearchOnly_CyclesThroughTestSplit()
    {
        var workload = WorkloadCatalog.Create("deep-research", new WorkloadOptions { Requests = DeepResearchJobs.Test.Count + 5 });

        Assert.Equal(DeepResearchJobs.Test.Count + 5, Jobs(workload, WorkloadBuilder.DeepResearchApp).Count);
        Assert.All(workload.Requests, r => Assert.Equal(RequestClass.Collective, r.Class));
    }

    [Fact]
    public void Create_Chat_IsLatencyOnlyWithPromptText()
    {
        var workload = WorkloadCatalog.Create("chat", new WorkloadOptions { Requests = 500 });

        Assert.Equal(500, workload.Requests.Count);
        Assert.All(workload.Requests, r =>
        {
            Assert.Equal(RequestClass.Latency, r.Class);
            Assert.False(string.IsNullOrEmpty(r.PromptText));
            Assert.InRange(r.OutputTokens, 1, SyntheticChat.MaxOutputTokens);
        });
    }

    [Fact]
    public void Create_SameOptions_IdenticalWorkloads()
    {
        var options = new WorkloadOptions { Requests = 400, Rate = 3.0, Seed = 9, Arrival = ArrivalProcess.Gamma, BurstCv = 3 };

        var a = WorkloadCatalog.Create("mixed", options);
        var b = WorkloadCatalog.Create("mixed", options with { });

        Assert.Equal(a.Requests, b.Requests);
    }

    [Fact]
    public void Create_DifferentSeed_DifferentWorkload()
    {
        var a = WorkloadCatalog.Create("mixed", new WorkloadOptions { Requests = 200, Seed = 1 });
        var b = WorkloadCatalog.Create("mixed", new WorkloadOptions { Requests = 200, Seed = 2 });

        Assert.NotEqual(a.Requests.Select(r => r.OutputTokens), b.Requests.Select(r => r.OutputTokens));
    }

    [Fact]
    public void Create_ArrivalProcessChange_KeepsSameRequests()
    {
        var a = WorkloadCatalog.Create("chat", new WorkloadOptions { Requests = 300 });
        var b = WorkloadCatalog.Create("chat", new WorkloadOptions { Requests = 300, Arrival = ArrivalProcess.Poisson });

        Assert.Equal(a.Requests.Select(r => (r.PromptTokens, r.OutputTokens)), b.Requests.Select(r => (r.PromptTokens, r.OutputTokens)));
    }

    [Fact]
    public void Create_SingleSloLevel_AllRequestsUnscaled()
    {
        var options = new WorkloadOptions { Requests = 100, SloLevels = 1, SloBase = new Slo(0.8, 0.08, 8) };

        var workload = WorkloadCatalog.Create("throughput", options);

        Assert.All(workload.Requests, r => Assert.Equal(options.SloBase, r.Slo));
    }

    private static List<IGrouping<long?, RequestSpec>> Jobs(Workload w, string app) =>
        [.. w.Requests.Where(r => r.App == app).GroupBy(r => r.JobId)];

    private static List<double> TopLevelArrivals(Workload w, int client) =>
        [.. w.Requests.Where(r => r.ClientId == client).GroupBy(r => r.JobId is { } j ? -1 - j : r.Id).Select(g => g.First().ArrivalS).Order()];

    private static string Shape(RecordedJob job) =>
        string.Join("|", job.Stages.Select(s => string.Join(";", s.Select(c => $"{c.InputTokens},{c.OutputTokens}"))));
}
