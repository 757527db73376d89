namespace Tempo.LoadGen.Tests;

public sealed class TokenAttributionTests
{
    private static readonly ContentChunk[] ThreeChunks = [new(1.0, 2), new(2.0, 6), new(3.0, 2)];

    [Fact]
    public void Times_UsageEqualsChunks_OneTokenPerChunk() =>
        Assert.Equal([1.0, 2.0, 3.0], TokenAttribution.Times(ThreeChunks, 3, 9));

    [Fact]
    public void Times_NoUsage_OneTokenPerChunk() =>
        Assert.Equal([1.0, 2.0, 3.0], TokenAttribution.Times(ThreeChunks, null, 9));

    [Fact]
    public void Times_MoreTokensThanChunks_ExtrasGoToLongerText()
    {
        // 2 extra tokens over 10 characters: shares 0.4 / 1.2 / 0.4, so the long chunk takes one and the first of the
        // tied remainders the other.
        Assert.Equal([1.0, 1.0, 2.0, 2.0, 3.0], TokenAttribution.Times(ThreeChunks, 5, 9));
    }

    [Fact]
    public void Times_FewerTokensThanChunks_LastTokenOnLastChunk()
    {
        ContentChunk[] four = [new(1, 1), new(2, 1), new(3, 1), new(4, 1)];

        Assert.Equal([2.0, 4.0], TokenAttribution.Times(four, 2, 9));
    }

    [Fact]
    public void Times_NoChunksButUsage_AllTokensAtTheEnd() =>
        Assert.Equal([9.0, 9.0], TokenAttribution.Times([], 2, 9));

    [Fact]
    public void Times_ZeroUsageWithText_TrustsTheStream() =>
        Assert.Equal([1.0, 2.0, 3.0], TokenAttribution.Times(ThreeChunks, 0, 9));

    [Fact]
    public void Times_AnyCounts_ReturnsExactlyTheCountInOrder()
    {
        ContentChunk[] chunks = [new(0.1, 5), new(0.2, 1), new(0.3, 9), new(0.4, 2), new(0.5, 3)];
        for (var u = 1; u <= 40; u++)
        {
            var times = TokenAttribution.Times(chunks, u, 1);
            Assert.Equal(u, times.Length);
            Assert.Equal(0.5, times[^1]);
            Assert.True(times.Zip(times.Skip(1)).All(p => p.First <= p.Second));
        }
    }
}
