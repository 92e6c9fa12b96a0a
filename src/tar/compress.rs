//! Compression: detection, gzip/xz/zstd reading (zstd frame by frame), and gzip written in
//! independent members compressed on every core.

use super::*;

/// Compression of an archive stream.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Compression {
    /// A plain tar.
    None,
    /// gzip (one or more members).
    Gzip,
    /// Zstandard (one or more frames); read only.
    Zstd,
}

/// Detect compression from the first bytes (gzip `1f 8b`, zstd `28 b5 2f fd`, else none).
pub fn detect_compression(head: &[u8]) -> Compression {
    if head.starts_with(&[0x1f, 0x8b]) {
        Compression::Gzip
    } else if head.starts_with(&[0x28, 0xb5, 0x2f, 0xfd]) {
        Compression::Zstd
    } else {
        Compression::None
    }
}

/// A decompressing reader over any reader (gzip: flate2 `MultiGzDecoder`, every member; zstd:
/// ruzstd `StreamingDecoder`, every frame, skippable frames skipped). Fails when a zstd stream
/// does not start with a valid frame header.
pub fn decompress<'a>(r: impl Read + 'a, c: Compression) -> Result<Box<dyn Read + 'a>> {
    Ok(match c {
        Compression::None => Box::new(r),
        Compression::Gzip => Box::new(flate2::bufread::MultiGzDecoder::new(
            BufReader::with_capacity(256 << 10, r),
        )),
        Compression::Zstd => Box::new(ZstdFrames::new(BufReader::with_capacity(256 << 10, r))?),
    })
}

/// Reads every frame of a zstd stream in turn (ruzstd's `StreamingDecoder` reads one frame; this
/// drives its `FrameDecoder` the same way, frame after frame), skipping skippable frames.
pub(super) struct ZstdFrames<R: BufRead> {
    pub(super) source: R,
    pub(super) decoder: ruzstd::decoding::FrameDecoder,
    /// Whether a frame is being decoded.
    pub(super) active: bool,
}

impl<R: BufRead> ZstdFrames<R> {
    pub(super) fn new(source: R) -> Result<ZstdFrames<R>> {
        let mut z = ZstdFrames {
            source,
            decoder: ruzstd::decoding::FrameDecoder::new(),
            active: false,
        };
        if !z.start_frame().map_err(|e| anyhow!("{e}"))? {
            bail!("zstd: no frame in the stream");
        }
        Ok(z)
    }

    /// Start the next data frame, skipping skippable ones; false at the end of input.
    pub(super) fn start_frame(&mut self) -> std::io::Result<bool> {
        use ruzstd::decoding::errors::{FrameDecoderError, ReadFrameHeaderError};
        loop {
            if self.source.fill_buf()?.is_empty() {
                return Ok(false);
            }
            match self.decoder.reset(&mut self.source) {
                Ok(()) => {
                    self.active = true;
                    return Ok(true);
                }
                Err(FrameDecoderError::ReadFrameHeaderError(ReadFrameHeaderError::SkipFrame {
                    length,
                    ..
                })) => {
                    let want = u64::from(length);
                    let skipped =
                        std::io::copy(&mut (&mut self.source).take(want), &mut std::io::sink())?;
                    if skipped < want {
                        return Err(std::io::Error::new(
                            std::io::ErrorKind::UnexpectedEof,
                            "zstd: truncated skippable frame",
                        ));
                    }
                }
                Err(e) => return Err(std::io::Error::other(format!("zstd: {e}"))),
            }
        }
    }
}

impl<R: BufRead> Read for ZstdFrames<R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        use ruzstd::decoding::BlockDecodingStrategy;
        if buf.is_empty() {
            return Ok(0);
        }
        loop {
            if !self.active {
                if !self.start_frame()? {
                    return Ok(0);
                }
                continue;
            }
            let d = &mut self.decoder;
            while d.can_collect() < buf.len() && !d.is_finished() {
                let more = buf.len() - d.can_collect();
                d.decode_blocks(&mut self.source, BlockDecodingStrategy::UptoBytes(more))
                    .map_err(|e| std::io::Error::other(format!("zstd: {e}")))?;
            }
            let n = d.read(buf)?;
            if n > 0 {
                return Ok(n);
            }
            if d.is_finished() && d.can_collect() == 0 {
                self.active = false;
            }
        }
    }
}

/// gzip output written as independent members of [`GZIP_MEMBER`] uncompressed bytes each,
/// compressed on worker threads and written in order. Member boundaries depend only on the byte
/// count, so the output is the same whatever the number of cores; concatenated members are one
/// valid gzip stream (`gzip -d`, `MultiGzDecoder`).
pub(super) struct ParallelGzip<W: Write> {
    pub(super) out: W,
    pub(super) buf: Vec<u8>,
    pub(super) jobs: Option<SyncSender<(u64, Vec<u8>)>>,
    pub(super) done: Receiver<(u64, Vec<u8>)>,
    pub(super) workers: Vec<JoinHandle<()>>,
    pub(super) ready: BTreeMap<u64, Vec<u8>>,
    pub(super) sent: u64,
    pub(super) written: u64,
    pub(super) max_in_flight: u64,
}

impl<W: Write> ParallelGzip<W> {
    pub(super) fn new(out: W, level: u32) -> ParallelGzip<W> {
        let threads = std::thread::available_parallelism()
            .map(|n| n.get())
            .unwrap_or(1)
            .clamp(1, 16);
        let (jobs, job_rx) = mpsc::sync_channel::<(u64, Vec<u8>)>(threads);
        let (done_tx, done) = mpsc::channel();
        let job_rx = Arc::new(Mutex::new(job_rx));
        let workers = (0..threads)
            .map(|_| {
                let rx = Arc::clone(&job_rx);
                let tx: Sender<(u64, Vec<u8>)> = done_tx.clone();
                std::thread::spawn(move || Self::work(&rx, &tx, level))
            })
            .collect();
        ParallelGzip {
            out,
            buf: Vec::with_capacity(GZIP_MEMBER),
            jobs: Some(jobs),
            done,
            workers,
            ready: BTreeMap::new(),
            sent: 0,
            written: 0,
            max_in_flight: 2 * threads as u64,
        }
    }

    pub(super) fn work(
        rx: &Mutex<Receiver<(u64, Vec<u8>)>>,
        tx: &Sender<(u64, Vec<u8>)>,
        level: u32,
    ) {
        loop {
            let job = match rx.lock() {
                Ok(guard) => guard.recv(),
                Err(_) => return,
            };
            let Ok((seq, data)) = job else { return };
            if tx.send((seq, gzip_member(&data, level))).is_err() {
                return;
            }
        }
    }

    /// Hand the current buffer to a worker, and write what is done.
    pub(super) fn dispatch(&mut self) -> std::io::Result<()> {
        let data = std::mem::replace(&mut self.buf, Vec::with_capacity(GZIP_MEMBER));
        let jobs = self.jobs.as_ref().ok_or_else(Self::gone)?;
        jobs.send((self.sent, data)).map_err(|_| Self::gone())?;
        self.sent += 1;
        while let Ok((seq, member)) = self.done.try_recv() {
            self.ready.insert(seq, member);
        }
        self.write_ready()?;
        while self.sent - self.written > self.max_in_flight {
            self.wait_one()?;
        }
        Ok(())
    }

    pub(super) fn gone() -> std::io::Error {
        std::io::Error::other("gzip compression thread stopped")
    }

    pub(super) fn wait_one(&mut self) -> std::io::Result<()> {
        let (seq, member) = self.done.recv().map_err(|_| Self::gone())?;
        self.ready.insert(seq, member);
        self.write_ready()
    }

    pub(super) fn write_ready(&mut self) -> std::io::Result<()> {
        while let Some(member) = self.ready.remove(&self.written) {
            self.out.write_all(&member)?;
            self.written += 1;
        }
        Ok(())
    }

    /// Compress what is left, write every member in order and flush.
    pub(super) fn finish(&mut self) -> std::io::Result<()> {
        if !self.buf.is_empty() || self.sent == 0 {
            self.dispatch()?;
        }
        self.jobs = None;
        while self.written < self.sent {
            self.wait_one()?;
        }
        for w in self.workers.drain(..) {
            let _ = w.join();
        }
        self.out.flush()
    }
}

impl<W: Write> Write for ParallelGzip<W> {
    fn write(&mut self, mut data: &[u8]) -> std::io::Result<usize> {
        let total = data.len();
        while !data.is_empty() {
            let room = GZIP_MEMBER - self.buf.len();
            let n = room.min(data.len());
            self.buf.extend_from_slice(&data[..n]);
            data = &data[n..];
            if self.buf.len() == GZIP_MEMBER {
                self.dispatch()?;
            }
        }
        Ok(total)
    }

    fn flush(&mut self) -> std::io::Result<()> {
        // Members are cut at fixed sizes; flushing early would change the output.
        Ok(())
    }
}

impl<W: Write> Drop for ParallelGzip<W> {
    fn drop(&mut self) {
        self.jobs = None;
        for w in self.workers.drain(..) {
            let _ = w.join();
        }
    }
}
