using Tempo.Core;

namespace Tempo.Workloads.Tests;

public class AzureTraceTests
{
    private const string Header = "TIMESTAMP,ContextTokens,GeneratedTokens";

    [Fact]
    public void Create_AzureConv_ReplaysWholeEmbeddedTrace()
    {
        var workload = WorkloadCatalog.Create("azure-conv", new WorkloadOptions { Ratio = new ClassRatio(1, 0, 0) });

        Assert.Equal("azure-conv", workload.Name);
        Assert.Equal(19366, workload.Requests.Count);
        Assert.Equal(0.0, workload.Requests[0].ArrivalS);
        Assert.Equal((374, 44), (workload.Requests[0].PromptTokens, workload.Requests[0].OutputTokens));
        Assert.All(workload.Requests, r => Assert.Null(r.PromptText));

        // The trace spans about 58 minutes at ≈5.5 req/s.
        Assert.InRange(workload.Requests[^1].ArrivalS, 3400, 3600);
    }

    [Fact]
    public void Create_AzureConvWithRate_RescalesToRequestedMeanRate()
    {
        var workload = WorkloadCatalog.Create("azure-conv", new WorkloadOptions { Requests = 2000, Rate = 3.0, Ratio = new ClassRatio(1, 1, 0) });

        Assert.Equal(2000, workload.Arrivals);
        Assert.Equal(3.0, (workload.Arrivals - 1) / workload.Requests[^1].ArrivalS, 9);
        Assert.Contains("first 2000 of 19366 rows", workload.Name, StringComparison.Ordinal);
    }

    [Fact]
    public void Create_AzureConvMoreRequestsThanRows_ReplaysAllAndSaysSo()
    {
        var workload = WorkloadCatalog.Create("azure-conv", new WorkloadOptions { Requests = 50000, Ratio = new ClassRatio(0, 1, 0) });

        Assert.Equal(19366, workload.Requests.Count);
        Assert.Contains("all 19366 rows; 50000 requested", workload.Name, StringComparison.Ordinal);
    }

    [Fact]
    public void Replay_ReferenceRatio_AssignsClassesByCreateTraceRule()
    {
        var workload = WorkloadCatalog.Create("azure-conv", new WorkloadOptions { Requests = 3000 });

        Assert.Equal(1400, workload.Requests.Count(r => r.Class == RequestClass.Latency));
        Assert.Equal(1400, workload.Requests.Count(r => r.Class == RequestClass.Throughput));
        Assert.Equal(100, workload.Requests.Where(r => r.App == WorkloadBuilder.TreeOfThoughtApp).Select(r => r.JobId).Distinct().Count());
        Assert.Equal(100, workload.Requests.Where(r => r.App == WorkloadBuilder.DeepResearchApp).Select(r => r.JobId).Distinct().Count());
        Assert.Equal(3000, workload.Arrivals);
    }

    [Fact]
    public void Parse_MalformedTokenCount_NamesTheLine()
    {
        var csv = $"{Header}\n2023-11-16 18:15:46.6805900,374,44\n2023-11-16 18:15:47.0000000,12,abc\n";

        var e = Assert.Throws<FormatException>(() => AzureTrace.Parse(new StringReader(csv), "conv.csv"));

        Assert.StartsWith("conv.csv line 3: GeneratedTokens 'abc'", e.Message, StringComparison.Ordinal);
        Assert.DoesNotContain('\n', e.Message);
    }

    [Theory]
    [InlineData("yesterday,1,2", "conv.csv line 2: TIMESTAMP 'yesterday'")]
    [InlineData("2023-11-16 18:15:46.6805900,5", "conv.csv line 2: expected 3 comma-separated fields, got 2")]
    [InlineData("2023-11-16 18:15:46.6805900,-5,3", "conv.csv line 2: ContextTokens '-5'")]
    public void Parse_MalformedRow_NamesLineAndProblem(string row, string expectedStart)
    {
        var e = Assert.Throws<FormatException>(() => AzureTrace.Parse(new StringReader($"{Header}\n{row}\n"), "conv.csv"));

        Assert.StartsWith(expectedStart, e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Parse_MissingColumn_NamesHeaderLine()
    {
        var e = Assert.Throws<FormatException>(() => AzureTrace.Parse(new StringReader("TIMESTAMP,Tokens\n"), "x.csv"));

        Assert.StartsWith("x.csv line 1: no ContextTokens or Request tokens column", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Parse_BurstGptColumnsAndZeroTokenRows_AcceptedAndCounted()
    {
        var csv = "Timestamp,Model,Request tokens,Response tokens,Total tokens,Log Type\n5.0,ChatGPT,100,20,120,Conversation log\n7.5,ChatGPT,50,0,50,Conversation log\n9,GPT-4,10,5,15,API log\n";

        var rows = AzureTrace.Parse(new StringReader(csv), "burst.csv");
        var workload = AzureTrace.Replay(rows, "burst", new WorkloadOptions { Ratio = new ClassRatio(0, 1, 0) });

        Assert.Equal(2, rows.Rows.Count);
        Assert.Equal(1, rows.ZeroTokenRows);
        Assert.Equal([0.0, 4.0], workload.Requests.Select(r => r.ArrivalS));
        Assert.Contains("1 zero-token rows skipped", workload.Name, StringComparison.Ordinal);
    }
}
