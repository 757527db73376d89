namespace Tempo.Cli;

/// <summary>An impossible or malformed command-line value; printed as one line, exit code 2.</summary>
internal sealed class CliUsageException(string message) : Exception(message);
