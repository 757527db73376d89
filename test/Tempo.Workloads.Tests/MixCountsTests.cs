namespace Tempo.Workloads.Tests;

public class MixCountsTests
{
    // The table of evaluation note A.3 in docs/WORKLOADS.md (computed from the artifact's create_trace rule).
    [Theory]
    [InlineData(200, 94, 93, 6, 7)]
    [InlineData(2000, 934, 933, 66, 67)]
    [InlineData(3000, 1400, 1400, 100, 100)]
    [InlineData(13000, 6068, 6066, 433, 433)]
    public void Of_ReferenceRatio_MatchesArtifactTable(int n, int latency, int throughput, int tot, int dr)
    {
        var counts = MixCounts.Of(n, ClassRatio.Reference, 0.5);

        Assert.Equal(new MixCounts(latency, throughput, tot, dr), counts);
    }

    [Fact]
    public void Of_ZeroLatencyWeight_RemainderGoesToNextEnabledClass()
    {
        var counts = MixCounts.Of(10, new ClassRatio(0, 1, 1), 0.5);

        Assert.Equal(0, counts.Latency);
        Assert.Equal(10, counts.Total);
    }

    [Fact]
    public void Of_CollectiveOnly_AllArrivalsAreJobs()
    {
        Assert.Equal(new MixCounts(0, 0, 0, 37), MixCounts.Of(37, new ClassRatio(0, 0, 1), 0));
        Assert.Equal(new MixCounts(0, 0, 37, 0), MixCounts.Of(37, new ClassRatio(0, 0, 1), 1));
    }
}
