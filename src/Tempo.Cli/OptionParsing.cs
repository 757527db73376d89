using System.Globalization;

using Tempo.Workloads;

namespace Tempo.Cli;

/// <summary>Parsing of list-valued options with one-line errors.</summary>
internal static class OptionParsing
{
    /// <summary>Splits "a,b , c" into trimmed non-empty items.</summary>
    public static IReadOnlyList<string> List(string value, string option)
    {
        var items = value.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
        return items.Length > 0 ? items : throw new CliUsageException($"{option} needs at least one value");
    }

    /// <summary>Parses a comma list of positive finite numbers, returned ascending and distinct.</summary>
    public static IReadOnlyList<double> PositiveNumbers(string value, string option)
    {
        var result = new List<double>();
        foreach (var item in List(value, option))
        {
            if (!double.TryParse(item, NumberStyles.Float, CultureInfo.InvariantCulture, out var x) || !double.IsFinite(x))
            {
                throw new CliUsageException($"{option}: '{item}' is not a number");
            }

            if (x <= 0)
            {
                throw new CliUsageException($"{option}: {item} must be positive");
            }

            result.Add(x);
        }

        return [.. result.Distinct().Order()];
    }

    /// <summary>Throws unless <paramref name="value"/> is positive.</summary>
    public static int Positive(int value, string option) =>
        value > 0 ? value : throw new CliUsageException($"{option} must be positive, got {value}");

    /// <summary>A registered router's name, or a usage error listing them.</summary>
    public static string Router(string value) =>
        Fleet.RouterRegistry.Names.FirstOrDefault(n => string.Equals(n, value.Trim(), StringComparison.OrdinalIgnoreCase))
        ?? throw new CliUsageException($"--router: unknown router '{value}'; use {string.Join(", ", Fleet.RouterRegistry.Names)}");

    /// <summary>Parses <c>--format</c>: table, json or csv.</summary>
    public static OutputFormat Format(string value) => value.Trim().ToLowerInvariant() switch
    {
        "table" => OutputFormat.Table,
        "json" => OutputFormat.Json,
        "csv" => OutputFormat.Csv,
        var other => throw new CliUsageException($"--format: unknown format '{other}'; use table, json or csv"),
    };

    /// <summary>Parses <c>--arrival</c>: reference, poisson or gamma.</summary>
    public static ArrivalProcess Arrival(string value) => value.Trim().ToLowerInvariant() switch
    {
        "reference" => ArrivalProcess.Reference,
        "poisson" => ArrivalProcess.Poisson,
        "gamma" => ArrivalProcess.Gamma,
        var other => throw new CliUsageException($"--arrival: unknown process '{other}'; use reference, poisson or gamma"),
    };

    /// <summary>Checks a workload scale factor (<c>--length-scale</c>, <c>--slo-scale</c>): a positive finite number.</summary>
    public static double Scale(double value, string option) =>
        double.IsFinite(value) && value > 0 ? value : throw new CliUsageException($"{option} must be a positive number, got {value.ToString(CultureInfo.InvariantCulture)}");

    /// <summary>Checks <c>--records</c>: a file path, not a folder, whose folder can be written (caught before a long run rather than after it).</summary>
    public static string? RecordsFile(string? path) => path switch
    {
        null => null,
        _ when string.IsNullOrWhiteSpace(path) => throw new CliUsageException("--records needs a file name"),
        _ when Directory.Exists(path) => throw new CliUsageException($"--records: '{path}' is a folder; give a file name such as records.csv"),
        _ => WritableFolder(path, "--records", ofFile: true),
    };

    /// <summary>Checks <c>--out</c> as a results folder that can be written (made at write time if missing), before the run.</summary>
    public static string? OutFolder(string? folder)
    {
        if (folder is null)
        {
            return null;
        }

        if (string.IsNullOrWhiteSpace(folder))
        {
            throw new CliUsageException("--out needs a folder name");
        }

        return WritableFolder(folder, "--out", ofFile: false);
    }

    // A run can take minutes (a simulate sweep, a benchmark against a server): a folder it could not write to would only
    // show when the results are ready, and they would be lost. So the nearest folder that exists on the way to it (where
    // the missing ones will be made) must be a folder and take a file, which is written and deleted at once: nothing is
    // left behind, so a run that fails later for another reason still writes nothing. With ofFile, the path names a file
    // and its folder is checked. Returns the path as given.
    private static string WritableFolder(string path, string option, bool ofFile)
    {
        try
        {
            var full = Path.GetFullPath(path);
            var existing = ofFile ? Path.GetDirectoryName(full) ?? full : full;
            while (!Directory.Exists(existing))
            {
                if (File.Exists(existing))
                {
                    throw new IOException($"'{existing}' is a file");
                }

                existing = Path.GetDirectoryName(existing) ?? throw new IOException("no folder on the way to it exists");
            }

            var probe = Path.Combine(existing, $".tempo-write-check-{Environment.ProcessId}");
            File.WriteAllBytes(probe, []);
            File.Delete(probe);
            return path;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or NotSupportedException or ArgumentException)
        {
            throw new CliUsageException($"{option}: cannot write to '{path}': {e.Message}");
        }
    }

    /// <summary>Checks <c>--cv</c>: a positive finite coefficient of variation.</summary>
    public static double PositiveCv(double cv) =>
        double.IsFinite(cv) && cv > 0 ? cv : throw new CliUsageException($"--cv must be a positive number, got {cv.ToString(CultureInfo.InvariantCulture)}");
}
