using System.Diagnostics;
using System.Net;
using System.Net.Sockets;

namespace ModelLedger.Testing;

/// <summary>
/// A throwaway PostgreSQL server for contract tests: initdb in a temp folder, pg_ctl start on a free loopback port,
/// stopped and deleted on dispose. Runs the server as the postgres user when the tests run as root (initdb refuses
/// root). Needs Debian's postgresql package (.ci/run installs it); fails loudly when it is missing.
/// </summary>
public sealed class PostgresServer : IDisposable
{
    private readonly string _dataDir;
    private readonly string _bin;
    private readonly bool _asPostgresUser;
    private int _databases;

    public int Port { get; }

    public PostgresServer()
    {
        _bin = FindBin();
        if (_bin.Length == 0) throw new InvalidOperationException("PostgreSQL is not installed (apt-get install -y postgresql); .ci/run installs it");
        _asPostgresUser = Environment.UserName == "root";
        var root = Directory.CreateTempSubdirectory("mledger-pg-").FullName;
        if (!OperatingSystem.IsWindows()) File.SetUnixFileMode(root, (UnixFileMode)0x1FF);   // 0777: the postgres user must reach its data folder
        _dataDir = Path.Combine(root, "data");
        Port = FreePort();
        Run("initdb", "-D", _dataDir, "-A", "trust", "-U", "postgres", "--no-sync");
        Run("pg_ctl", "-D", _dataDir, "-w", "-l", Path.Combine(root, "log.txt"), "-o", $"-c listen_addresses=127.0.0.1 -p {Port} -k {root} -c fsync=on", "start");
    }

    /// <summary>Whether Debian's postgresql package is installed (a test that needs a server may skip without it).</summary>
    public static bool Installed => FindBin().Length > 0;

    private static string FindBin() => Directory.Exists("/usr/lib/postgresql")
        ? Directory.GetDirectories("/usr/lib/postgresql").Select(d => Path.Combine(d, "bin")).Where(d => File.Exists(Path.Combine(d, "pg_ctl"))).OrderDescending().FirstOrDefault() ?? ""
        : "";

    /// <summary>A fresh, empty database on this server; returns its connection string.</summary>
    public string CreateDatabase()
    {
        var name = $"ledger_{Interlocked.Increment(ref _databases)}_{Guid.NewGuid():N}"[..30];
        using var connection = new Npgsql.NpgsqlConnection($"Host=127.0.0.1;Port={Port};Username=postgres;Database=postgres;Pooling=false");
        connection.Open();
        using var cmd = connection.CreateCommand();
        cmd.CommandText = $"CREATE DATABASE {name}";
        cmd.ExecuteNonQuery();
        return $"Host=127.0.0.1;Port={Port};Username=postgres;Database={name};Pooling=false";
    }

    private void Run(string tool, params string[] args)
    {
        var info = new ProcessStartInfo(_asPostgresUser ? "runuser" : Path.Combine(_bin, tool)) { RedirectStandardOutput = true, RedirectStandardError = true };
        if (_asPostgresUser) { info.ArgumentList.Add("-u"); info.ArgumentList.Add("postgres"); info.ArgumentList.Add("--"); info.ArgumentList.Add(Path.Combine(_bin, tool)); }
        foreach (var a in args) info.ArgumentList.Add(a);
        using var p = Process.Start(info)!;
        var stderr = p.StandardError.ReadToEndAsync();
        p.StandardOutput.ReadToEnd();
        p.WaitForExit();
        if (p.ExitCode != 0) throw new InvalidOperationException($"{tool} failed: {stderr.Result}");
    }

    private static int FreePort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }

    public void Dispose()
    {
        try { Run("pg_ctl", "-D", _dataDir, "-m", "fast", "-w", "stop"); } catch (InvalidOperationException) { }
        try { Directory.Delete(Path.GetDirectoryName(_dataDir)!, recursive: true); } catch (IOException) { } catch (UnauthorizedAccessException) { }
    }
}
