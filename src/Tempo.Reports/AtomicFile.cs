using System.Text;

namespace Tempo.Reports;

/// <summary>Writes a whole file or nothing: a failed or interrupted write never leaves a half-written file behind.</summary>
public static class AtomicFile
{
    /// <summary>
    /// Writes <paramref name="text"/> (UTF-8, no BOM) to <paramref name="path"/>, creating parent folders: first to a
    /// hidden sibling, which is then moved into place, and deleted if anything fails.
    /// </summary>
    public static void WriteAllText(string path, string text) => Write(path, staging => File.WriteAllText(staging, text, new UTF8Encoding(false)));

    /// <summary>Runs <paramref name="write"/> on a hidden sibling of <paramref name="path"/>, then moves it into place.</summary>
    public static void Write(string path, Action<string> write)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(path);
        ArgumentNullException.ThrowIfNull(write);
        var full = Path.GetFullPath(path);
        var parent = Path.GetDirectoryName(full) ?? ".";
        Directory.CreateDirectory(parent);
        var staging = Path.Combine(parent, $".{Path.GetFileName(full)}.tmp-{Environment.ProcessId}");
        try
        {
            write(staging);
            File.Move(staging, full, overwrite: true);
        }
        finally
        {
            if (File.Exists(staging))
            {
                File.Delete(staging);
            }
        }
    }
}
