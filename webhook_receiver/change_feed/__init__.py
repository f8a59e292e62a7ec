"""The live change feed (`mediasync feed`): media_assets changes as Server-Sent Events.

db/migrations/0011_change_feed.sql records each change in mediasync_changes and NOTIFYs;
hub.py reads them on one connection for every subscriber; http.py parses and answers;
server.py runs it all on asyncio, in a process of its own.
"""
