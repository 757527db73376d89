using Tempo.Scheduling.Gain.SelectEdf;

namespace Tempo.Scheduling.Tests.Gain;

public class DensityBandsTests
{
    private static readonly DensityBands Bands = new(1.25);

    [Fact]
    public void Key_InsideOneBand_StreamsFirstByUrgency_ThenCallsByDensity()
    {
        // Densities 100, 104 and 110 share the band [1.25^20, 1.25^21) = [86.7, 108.4) except 110, which is the next.
        var laterStream = Bands.Key(100, latestStartS: 9, stream: true);
        var soonerStream = Bands.Key(95, latestStartS: 2, stream: true);
        var denserCall = Bands.Key(104, latestStartS: 1, stream: false);
        var call = Bands.Key(90, latestStartS: 0, stream: false);

        Assert.True(soonerStream < laterStream, "streams in a band go most urgent first");
        Assert.True(laterStream < denserCall, "a stream goes before a call of its band, even a denser and more urgent one");
        Assert.True(denserCall < call, "calls in a band go densest first");
    }

    [Fact]
    public void Key_AcrossBands_DensityDecides()
    {
        var denseCall = Bands.Key(110, latestStartS: 50, stream: false);
        var urgentStream = Bands.Key(100, latestStartS: 0, stream: true);
        var idle = Bands.Key(0, latestStartS: 0, stream: true);
        var tiny = Bands.Key(1e-9, latestStartS: 0, stream: false);

        Assert.True(denseCall < urgentStream, "a call a band denser goes before the stream");
        Assert.True(tiny < idle, "nothing to earn sorts below every real band");
    }

    [Fact]
    public void Key_RatioOne_IsPlainDensityOrder()
    {
        var plain = new DensityBands(1);

        Assert.Equal(-100, plain.Key(100, latestStartS: 3, stream: true));
        Assert.True(plain.Key(104, 9, false) < plain.Key(100, 0, true));
    }
}
