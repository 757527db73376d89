using Tempo.Core;

namespace Tempo.Workloads.Tests;

public class WorkloadScalingTests
{
    private static int Scaled(int tokens, double scale) => Math.Max(1, (int)Math.Round(tokens * scale, MidpointRounding.AwayFromZero));

    [Theory]
    [InlineData("mixed")]
    [InlineData("azure-conv")]
    public void Create_ScalesOfOne_SameWorkloadAsWithoutScaling(string name)
    {
        var plain = WorkloadCatalog.Create(name, new WorkloadOptions { Requests = 150, Rate = 4 });

        var scaled = WorkloadCatalog.Create(name, new WorkloadOptions { Requests = 150, Rate = 4, LengthScale = 1.0, SloScale = 1.0 });

        Assert.Equal(plain.Requests, scaled.Requests);
    }

    [Fact]
    public void Create_Mixed_LengthsAndSlosScaledArrivalsAndClassesKept()
    {
        var options = new WorkloadOptions { Requests = 200, Seed = 5 };
        var plain = WorkloadCatalog.Create("mixed", options);

        var scaled = WorkloadCatalog.Create("mixed", options with { LengthScale = 0.25, SloScale = 3 });

        Assert.Equal(plain.Requests.Count, scaled.Requests.Count);
        Assert.Equal(plain.Requests.Select(r => (r.Id, r.ArrivalS, r.Class, r.JobId, r.Stage, r.App)), scaled.Requests.Select(r => (r.Id, r.ArrivalS, r.Class, r.JobId, r.Stage, r.App)));
        foreach (var (p, s) in plain.Requests.Zip(scaled.Requests))
        {
            Assert.Equal(p.Slo.Scale(3), s.Slo);
            Assert.Equal(Scaled(p.OutputTokens, 0.25), s.OutputTokens);
            if (p.App != "tot")
            {
                Assert.Equal(Scaled(p.PromptTokens, 0.25), s.PromptTokens);
            }
        }

        Assert.Contains(scaled.Requests, r => r.App == "deep-research");
        Assert.True(scaled.Requests.Sum(r => r.OutputTokens) < plain.Requests.Sum(r => r.OutputTokens) / 3);
    }

    [Fact]
    public void Create_TreeOfThought_CallPromptsDerivedFromTheScaledPromptAndThought()
    {
        var options = new WorkloadOptions { Requests = 20 };
        var plain = WorkloadCatalog.Create("tot", options);

        var scaled = WorkloadCatalog.Create("tot", options with { LengthScale = 0.25 });

        foreach (var job in scaled.Requests.GroupBy(r => r.JobId))
        {
            var original = plain.Requests.First(r => r.JobId == job.Key && r.Stage == 0);
            var prompt = Scaled(original.PromptTokens, 0.25);
            var thought = Scaled(original.OutputTokens, 0.25);
            Assert.All(job, r => Assert.Equal(thought, r.OutputTokens));
            Assert.Equal([prompt], job.Where(r => r.Stage == 0).Select(r => r.PromptTokens).Distinct());
            Assert.Equal([prompt + thought + 3], job.Where(r => r.Stage == 2).Select(r => r.PromptTokens).Distinct());
            Assert.Equal([prompt + (3 * thought) + 10], job.Where(r => r.Stage is 1 or 3).Select(r => r.PromptTokens).Distinct());
        }
    }

    [Fact]
    public void Create_CsvTrace_RowTokensScaledAtLeastOne()
    {
        var dir = Directory.CreateTempSubdirectory("tempo-scale-");
        try
        {
            var csv = Path.Combine(dir.FullName, "trace.csv");
            File.WriteAllText(csv, "TIMESTAMP,ContextTokens,GeneratedTokens\n2023-11-16 18:15:46.0,100,3\n2023-11-16 18:15:48.0,250,21\n");

            var w = WorkloadCatalog.Create(csv, new WorkloadOptions { Ratio = new ClassRatio(1, 0, 0), LengthScale = 0.1, SloScale = 0.5 });

            Assert.Equal([10, 25], w.Requests.Select(r => r.PromptTokens));
            Assert.Equal([1, 2], w.Requests.Select(r => r.OutputTokens));
            Assert.Equal(0.5, w.Requests[0].Slo.TtftS);
        }
        finally
        {
            dir.Delete(true);
        }
    }

    [Fact]
    public void Read_Jsonl_EveryLineScaledIncludingOwnAndDefaultSlos()
    {
        const string text = """
            {"id":7,"arrival_s":0,"class":"latency","prompt_tokens":120,"output_tokens":4,"slo":{"ttft_s":1.5,"tbt_s":0.2}}
            {"id":8,"arrival_s":1,"class":"collective","prompt_tokens":30,"output_tokens":15,"slo":{"deadline_s":40},"job_id":"a","stage":0}
            """;

        var w = WorkloadJsonl.Read(new StringReader(text), "w.jsonl", new WorkloadOptions { SloBase = new Slo(2, 0.5, 20), LengthScale = 0.1, SloScale = 2 });

        Assert.Equal([12, 3], w.Requests.Select(r => r.PromptTokens));
        Assert.Equal([1, 2], w.Requests.Select(r => r.OutputTokens));
        Assert.Equal(new Slo(3, 0.4, 40), w.Requests[0].Slo);
        Assert.Equal(new Slo(4, 1, 80), w.Requests[1].Slo);
    }

    [Fact]
    public void Create_SameSeedAndScales_SameWorkload()
    {
        var options = new WorkloadOptions { Requests = 120, Seed = 11, LengthScale = 0.07, SloScale = 12.5 };

        Assert.Equal(WorkloadCatalog.Create("mixed", options).Requests, WorkloadCatalog.Create("mixed", options).Requests);
    }

    [Theory]
    [InlineData(0.0)]
    [InlineData(-0.5)]
    [InlineData(double.NaN)]
    [InlineData(double.PositiveInfinity)]
    public void Create_InvalidScale_ThrowsOneLineArgumentException(double scale)
    {
        var length = Assert.Throws<ArgumentException>(() => WorkloadCatalog.Create("chat", new WorkloadOptions { Requests = 5, LengthScale = scale }));
        var slo = Assert.Throws<ArgumentException>(() => WorkloadCatalog.Create("chat", new WorkloadOptions { Requests = 5, SloScale = scale }));

        Assert.StartsWith("length scale must be a positive number", length.Message, StringComparison.Ordinal);
        Assert.StartsWith("SLO scale must be a positive number", slo.Message, StringComparison.Ordinal);
        Assert.DoesNotContain('\n', length.Message + slo.Message);
    }
}
