using Tempo.Reports;

namespace Tempo.Cli.Tests;

/// <summary>Reads a records CSV back into rows keyed by column name (RFC 4180 quoting, as the writer uses).</summary>
internal static class RecordsCsvReader
{
    public static (IReadOnlyList<string> Header, IReadOnlyList<IReadOnlyDictionary<string, string>> Rows) Read(string path)
    {
        var text = File.ReadAllText(path);

        // Every line, the last included, is complete.
        Assert.EndsWith("\n", text, StringComparison.Ordinal);
        var lines = CsvText.Split(text);
        var header = lines[0];
        var rows = lines.Skip(1).Select(fields =>
        {
            Assert.Equal(header.Count, fields.Count);
            return (IReadOnlyDictionary<string, string>)header.Zip(fields).ToDictionary(x => x.First, x => x.Second);
        }).ToList();
        return (header, rows);
    }
}
