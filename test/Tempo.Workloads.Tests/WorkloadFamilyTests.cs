using Tempo.Core;

namespace Tempo.Workloads.Tests;

/// <summary>The prefill-heavy, decode-heavy and agent-heavy generators: their documented shapes, and seeding.</summary>
public class WorkloadFamilyTests
{
    private static readonly WorkloadOptions Options = new() { Requests = 3000, Seed = 5 };

    [Fact]
    public void PrefillHeavy_PromptsAroundTwoThousandWithTailAndShortOutputs()
    {
        var plain = Plain(WorkloadCatalog.Create("prefill-heavy", Options));

        var prompts = plain.Select(r => (double)r.PromptTokens).Order().ToList();
        var outputs = plain.Select(r => (double)r.OutputTokens).Order().ToList();
        Assert.InRange(Quantile(prompts, 0.5), 1800, 2300);
        Assert.InRange(Quantile(prompts, 0.99), 5500, 8192 + SyntheticChat.TemplateTokens);
        Assert.All(plain, r => Assert.InRange(r.PromptTokens, 128 + SyntheticChat.TemplateTokens, 8192 + SyntheticChat.TemplateTokens));
        Assert.InRange(Quantile(outputs, 0.5), 16, 25);
        Assert.All(plain, r => Assert.InRange(r.OutputTokens, 1, 256));
    }

    [Fact]
    public void DecodeHeavy_LongOutputsShortPromptsAndLongerDeadlines()
    {
        var workload = WorkloadCatalog.Create("decode-heavy", Options);
        var plain = Plain(workload);

        var outputs = plain.Select(r => (double)r.OutputTokens).Order().ToList();
        Assert.InRange(Quantile(outputs, 0.5), 850, 1150);
        Assert.InRange(Quantile(outputs, 0.99), 5000, 8192);
        Assert.All(plain, r => Assert.InRange(r.OutputTokens, 1, 8192));
        Assert.InRange(Quantile([.. plain.Select(r => (double)r.PromptTokens).Order()], 0.5), 60, 110);

        // Deadlines are 5× the base TTLT at every tightness level; TTFT and TBT are the base ones.
        var throughput = plain.Where(r => r.Class == RequestClass.Throughput).ToList();
        Assert.All(throughput, r => Assert.Equal(r.Slo.TtftS / Options.SloBase.TtftS * Options.SloBase.DeadlineS * WorkloadCatalog.DecodeHeavyDeadlineFactor, r.Slo.DeadlineS, 9));
        Assert.All(throughput, r => Assert.Equal(r.Slo.TtftS / Options.SloBase.TtftS * Options.SloBase.TbtS, r.Slo.TbtS, 9));
    }

    [Fact]
    public void AgentHeavy_JobsAreHalfTheArrivals()
    {
        var workload = WorkloadCatalog.Create("agent-heavy", Options);

        var jobs = workload.Requests.Where(r => r.JobId is not null).Select(r => r.JobId).Distinct().Count();
        var single = workload.Requests.Count(r => r.JobId is null);
        Assert.Equal(3000, jobs + single);
        Assert.Equal(1500, jobs);
        Assert.Equal(750, workload.Requests.Count(r => r.Class == RequestClass.Throughput));
    }

    [Fact]
    public void AgentHeavy_OverridesTheRatioOption()
    {
        var a = WorkloadCatalog.Create("agent-heavy", Options);
        var b = WorkloadCatalog.Create("agent-heavy", Options with { Ratio = new ClassRatio(1, 0, 0) });

        Assert.Equal(a.Requests, b.Requests);
    }

    [Theory]
    [InlineData("prefill-heavy")]
    [InlineData("decode-heavy")]
    [InlineData("agent-heavy")]
    public void Families_SameSeedSameWorkload_OtherSeedOtherLengths_WithPromptText(string name)
    {
        var options = new WorkloadOptions { Requests = 300, Seed = 3 };

        var a = WorkloadCatalog.Create(name, options);
        var b = WorkloadCatalog.Create(name, options with { });
        var c = WorkloadCatalog.Create(name, options with { Seed = 4 });

        Assert.Equal(a.Requests, b.Requests);
        Assert.NotEqual(a.Requests.Select(r => r.OutputTokens), c.Requests.Select(r => r.OutputTokens));
        Assert.All(Plain(a), r => Assert.False(string.IsNullOrEmpty(r.PromptText)));
    }

    [Fact]
    public void Chat_UnchangedByTheLengthShapes()
    {
        // The chat shape must draw exactly what the chat generator always drew: the mix's numbers depend on it.
        var rng1 = new Sampler(7, WorkloadStream.Lengths);
        var rng2 = new Sampler(7, WorkloadStream.Lengths);
        for (var i = 0; i < 200; i++)
        {
            Assert.Equal(SyntheticChat.Draw(rng1), SyntheticChat.Draw(rng2, LengthShape.Chat));
        }
    }

    private static List<RequestSpec> Plain(Workload w) => [.. w.Requests.Where(r => r.Class != RequestClass.Collective)];

    private static double Quantile(List<double> sorted, double q) => sorted[(int)Math.Min(sorted.Count - 1, Math.Floor(q * sorted.Count))];
}
