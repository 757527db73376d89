namespace Tempo.Cli;

/// <summary>Turns bad input into one line on stderr and a non-zero exit code, instead of a stack trace.</summary>
internal static class CliErrors
{
    /// <summary>Exit code for bad input (usage, files, formats).</summary>
    public const int BadInput = 2;

    public static int Guard(Func<int> action)
    {
        try
        {
            return action();
        }
        catch (Exception e) when (e is CliUsageException or ArgumentException or FormatException or FileNotFoundException or DirectoryNotFoundException or InvalidDataException or IOException or UnauthorizedAccessException or System.Text.Json.JsonException)
        {
            Console.Error.WriteLine($"tempo: error: {OneLine(e.Message)}");
            return BadInput;
        }
    }

    private static string OneLine(string message) => message.ReplaceLineEndings(" ").Trim();
}
