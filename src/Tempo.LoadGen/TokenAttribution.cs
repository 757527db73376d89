namespace Tempo.LoadGen;

/// <summary>One streamed chunk that carried output text: when it reached the client and how many characters it had.</summary>
/// <param name="TimeS">Client time the chunk's data line was read.</param>
/// <param name="Chars">Characters of output text in it (at least 1).</param>
internal readonly record struct ContentChunk(double TimeS, int Chars);

/// <summary>
/// Turns streamed chunks into per-token arrival times. Servers usually stream one token per chunk, but may merge
/// several (detokenizer hold-back, network coalescing, speculative decoding) or split one across chunks (an
/// incomplete UTF-8 sequence). The usage block at the end gives the true token count; every token is timed at the
/// chunk that delivered it, because that is when the client could use it.
/// </summary>
internal static class TokenAttribution
{
    /// <summary>
    /// Times of the <paramref name="usageTokens"/> output tokens (or one per chunk when the server reported no usable
    /// count). More tokens than chunks: each chunk gets one token, the extras go to chunks in proportion to their text
    /// length (largest remainder). Fewer tokens than chunks: token k completes at chunk ⌈(k+1)·C/U⌉−1, so the last
    /// token lands on the last chunk. No chunks but a positive count: every token at <paramref name="endS"/>.
    /// </summary>
    public static double[] Times(IReadOnlyList<ContentChunk> chunks, int? usageTokens, double endS)
    {
        var c = chunks.Count;
        // A zero or negative count next to streamed text is a server bug, not an empty answer: trust the stream.
        var u = usageTokens is { } n && (n > 0 || c == 0) ? n : c;
        if (u <= 0)
        {
            return [];
        }

        if (c == 0)
        {
            return [.. Enumerable.Repeat(endS, u)];
        }

        if (u == c)
        {
            return [.. chunks.Select(x => x.TimeS)];
        }

        var times = new double[u];
        if (u < c)
        {
            for (var k = 0; k < u; k++)
            {
                var j = (int)Math.Ceiling((double)(k + 1) * c / u) - 1;
                times[k] = chunks[Math.Clamp(j, 0, c - 1)].TimeS;
            }

            return times;
        }

        var perChunk = Spread(chunks, u - c);
        var t = 0;
        for (var j = 0; j < c; j++)
        {
            for (var i = 0; i < perChunk[j]; i++)
            {
                times[t++] = chunks[j].TimeS;
            }
        }

        return times;
    }

    /// <summary>One token per chunk plus <paramref name="extra"/> tokens shared by text length, largest remainder first.</summary>
    private static int[] Spread(IReadOnlyList<ContentChunk> chunks, int extra)
    {
        var c = chunks.Count;
        var totalChars = chunks.Sum(x => (double)Math.Max(1, x.Chars));
        var counts = new int[c];
        var remainders = new (double Remainder, int Index)[c];
        var given = 0;
        for (var j = 0; j < c; j++)
        {
            var share = extra * Math.Max(1, chunks[j].Chars) / totalChars;
            var whole = (int)Math.Floor(share);
            counts[j] = 1 + whole;
            given += whole;
            remainders[j] = (share - whole, j);
        }

        // Ties go to the earlier chunk so the result does not depend on sort stability.
        foreach (var (_, index) in remainders.OrderByDescending(r => r.Remainder).ThenBy(r => r.Index).Take(extra - given))
        {
            counts[index]++;
        }

        return counts;
    }
}
