from tlfast import Schema

api: Schema
mtproto: Schema
