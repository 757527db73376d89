namespace Tempo.Scheduling.Gain.JitServe;

/// <summary>The grouping step of the re-plan (§3.5 A): the contiguous run of requests with the largest total density.</summary>
internal static class SlidingWindow
{
    /// <summary>
    /// Start of the window of <paramref name="width"/> consecutive values with the largest sum, in O(n); the first
    /// such window wins ties. Returns 0 when the values are fewer than the width.
    /// </summary>
    public static int BestStart(ReadOnlySpan<double> values, int width)
    {
        if (width <= 0 || values.Length <= width)
        {
            return 0;
        }

        var sum = 0.0;
        for (var i = 0; i < width; i++)
        {
            sum += values[i];
        }

        var best = sum;
        var bestStart = 0;
        for (var start = 1; start + width <= values.Length; start++)
        {
            sum += values[start + width - 1] - values[start - 1];
            if (sum > best)
            {
                best = sum;
                bestStart = start;
            }
        }

        return bestStart;
    }
}
