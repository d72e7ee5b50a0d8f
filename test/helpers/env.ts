// Imported first by every test that loads the Google client libraries: they
// probe the cloud metadata server unless told not to.
process.env.METADATA_SERVER_DETECTION = 'none';
process.env.GCE_METADATA_HOST = '127.0.0.1:9';
process.env.GCE_METADATA_IP = '127.0.0.1:9';
export {};
