using System.Globalization;

namespace Tempo.Gateway;

/// <summary>
/// Reads the Prometheus text exposition format into sums per metric name (labels are summed over), enough to read a
/// replica's queue gauges and histogram sums and counts. Comment lines and malformed lines are skipped: a backend's
/// odd metric must not make the whole replica unreadable.
/// </summary>
internal static class PrometheusText
{
    /// <summary>Metric name → sum of its samples' values.</summary>
    public static Dictionary<string, double> Sums(string text)
    {
        var sums = new Dictionary<string, double>(StringComparer.Ordinal);
        foreach (var raw in text.Split('\n'))
        {
            var line = raw.Trim();
            if (line.Length == 0 || line[0] == '#')
            {
                continue;
            }

            var brace = line.IndexOf('{', StringComparison.Ordinal);
            var space = line.LastIndexOf(' ');
            if (space <= 0)
            {
                continue;
            }

            var nameEnd = brace >= 0 && brace < space ? brace : line.IndexOf(' ', StringComparison.Ordinal);
            var name = line[..nameEnd];
            var valueText = line[(space + 1)..];
            if (double.TryParse(valueText, NumberStyles.Float, CultureInfo.InvariantCulture, out var value) && double.IsFinite(value))
            {
                sums[name] = sums.GetValueOrDefault(name) + value;
            }
        }

        return sums;
    }

    /// <summary>The first of <paramref name="names"/> present, or null.</summary>
    public static double? First(Dictionary<string, double> sums, params string[] names)
    {
        foreach (var n in names)
        {
            if (sums.TryGetValue(n, out var v))
            {
                return v;
            }
        }

        return null;
    }
}
