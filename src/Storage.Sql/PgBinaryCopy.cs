using System.Buffers;
using System.Buffers.Binary;
using System.Text;

namespace ResultGrid.Storage.Sql;

/// <summary>
/// Rows in PostgreSQL's binary COPY format, encoded into one buffer for
/// <c>NpgsqlConnection.BeginRawBinaryCopyAsync</c>: the migration's import sends a chunk of
/// results this way. Npgsql's <c>NpgsqlBinaryImporter</c> does the same one awaited call per
/// field (22 per result), resolving the field's converter each time; a profile of the migrate
/// bench put that at about half of the thread-pool CPU in this process, where this encoder is a
/// few branches and copies per field. The format: the 11-byte signature, a flags word and an empty header
/// extension, then per row a field count and each field as its length (-1 for NULL) and its
/// bytes, then -1; every integer in network byte order (PostgreSQL's "COPY … BINARY" file format).
/// </summary>
internal sealed class PgBinaryCopy : IDisposable
{
    // "PGCOPY\n\377\r\n\0": bytes, not a string (as UTF-8, \377 would be two).
    private static ReadOnlySpan<byte> Signature => [0x50, 0x47, 0x43, 0x4F, 0x50, 0x59, 0x0A, 0xFF, 0x0D, 0x0A, 0x00];

    // Strict, as Npgsql's own text encoding is: a string that is not valid UTF-16 is an error, never a '?'.
    private static readonly UTF8Encoding Utf8 = new(encoderShouldEmitUTF8Identifier: false, throwOnInvalidBytes: true);

    // timestamptz travels as microseconds since 2000-01-01 00:00:00 UTC.
    private static readonly long PostgresEpochTicks = new DateTime(2000, 1, 1, 0, 0, 0, DateTimeKind.Utc).Ticks;

    private byte[] _buffer;
    private int _length;

    public PgBinaryCopy(int capacity)
    {
        _buffer = ArrayPool<byte>.Shared.Rent(Math.Max(capacity, 64));
        Signature.CopyTo(_buffer);
        _length = Signature.Length;
        Int32(0); // flags: no OIDs
        Int32(0); // header extension: none
    }

    /// <summary>The encoded rows, the trailer included once <see cref="Finish"/> was called.</summary>
    public ReadOnlyMemory<byte> Written => _buffer.AsMemory(0, _length);

    public void StartRow(short fields) => BinaryPrimitives.WriteInt16BigEndian(Reserve(2), fields);

    public void Null() => Int32(-1);

    public void Text(string? value)
    {
        if (value is null)
        {
            Null();
            return;
        }

        var span = Reserve(4 + Utf8.GetMaxByteCount(value.Length));
        var written = Utf8.GetBytes(value, span[4..]);
        BinaryPrimitives.WriteInt32BigEndian(span, written);
        _length -= span.Length - 4 - written;
    }

    public void Bytes(byte[]? value)
    {
        if (value is null)
        {
            Null();
            return;
        }

        var span = Reserve(4 + value.Length);
        BinaryPrimitives.WriteInt32BigEndian(span, value.Length);
        value.CopyTo(span[4..]);
    }

    public void Integer(int? value)
    {
        if (value is not { } v)
        {
            Null();
            return;
        }

        Int32(4);
        Int32(v);
    }

    /// <summary>A UTC instant (<see cref="DateTimeKind.Utc"/>) as timestamptz, to the microsecond (the column's precision; the rest is dropped, as Npgsql drops it).</summary>
    public void Instant(DateTime? value)
    {
        if (value is not { } at)
        {
            Null();
            return;
        }

        Int32(8);
        BinaryPrimitives.WriteInt64BigEndian(Reserve(8), (at.Ticks - PostgresEpochTicks) / TimeSpan.TicksPerMicrosecond);
    }

    /// <summary>Ends the data: the trailer, a field count of -1.</summary>
    public void Finish() => BinaryPrimitives.WriteInt16BigEndian(Reserve(2), -1);

    public void Dispose()
    {
        var buffer = _buffer;
        _buffer = [];
        if (buffer.Length > 0)
        {
            ArrayPool<byte>.Shared.Return(buffer);
        }
    }

    private void Int32(int value) => BinaryPrimitives.WriteInt32BigEndian(Reserve(4), value);

    private Span<byte> Reserve(int count)
    {
        if (_length + count > _buffer.Length)
        {
            var larger = ArrayPool<byte>.Shared.Rent(Math.Max(_buffer.Length * 2, _length + count));
            _buffer.AsSpan(0, _length).CopyTo(larger);
            ArrayPool<byte>.Shared.Return(_buffer);
            _buffer = larger;
        }

        var span = _buffer.AsSpan(_length, count);
        _length += count;
        return span;
    }
}
