using Spectre.Console;

using Tempo.Reports;

namespace Tempo.Cli;

/// <summary>The output step shared by <c>simulate</c> and <c>bench</c>: optional results folder, then stdout in the chosen format.</summary>
internal static class ResultsOutput
{
    /// <summary>Writes the per-request export of <c>--records</c> and says so on stderr.</summary>
    public static void WriteRecords(string path, IReadOnlyCollection<RunRecords> runs)
    {
        var rows = RecordsCsv.Write(path, runs);
        Console.Error.WriteLine($"wrote {rows} request records to {Path.GetFullPath(path)}");
    }

    /// <summary>Writes the results: the folder first, if any, then stdout.</summary>
    /// <param name="doc">The results.</param>
    /// <param name="outDir">Folder for results.json, results.csv and plots, or null.</param>
    /// <param name="format">Stdout format.</param>
    /// <param name="headingMarkup">Spectre markup line printed above the table (escaped by the caller).</param>
    public static void Write(ResultsDocument doc, string? outDir, OutputFormat format, string headingMarkup)
    {
        if (outDir is { } dir)
        {
            var files = ResultsWriter.WriteDirectory(dir, doc);
            Console.Error.WriteLine($"wrote {string.Join(", ", files.Select(Path.GetFileName))} to {Path.GetFullPath(dir)}");
        }

        switch (format)
        {
            case OutputFormat.Json:
                Console.Out.WriteLine(ResultsWriter.ToJson(doc));
                break;
            case OutputFormat.Csv:
                Console.Out.Write(ResultsWriter.ToCsv(doc));
                break;
            default:
                var console = AnsiConsole.Console;
                if (Console.IsOutputRedirected)
                {
                    // Files and pipes get the whole table rather than one wrapped to 80 columns.
                    console.Profile.Width = 200;
                }

                console.MarkupLine(headingMarkup);
                ResultsTable.Write(console, doc);
                break;
        }
    }
}
